// The page side of an edgerun volunteer: start a worker in a module Web
// Worker and hear what it does.
//
//   import { startVolunteer } from "/worker/volunteer.mjs";
//   const v = startVolunteer({ relay: "http://127.0.0.1:8080", rpc: "http://127.0.0.1:8899", cpuCap: 50 });
//   v.addEventListener("event", (e) => console.log(e.detail));   // every event
//   v.addEventListener("paid", (e) => show(e.detail.lamports));
//   v.pause(); v.resume(); v.setCpuCap(25); v.stop();
//
// Events (`detail.type`): started, registered, needs-wallet, stake,
// running, ran (engine, fuel_used, fuel_cap), submitted, revealed, paid,
// penalized, refused, paused, resumed, cpu, error, stopped.

export function startVolunteer(opts) {
  const events = new EventTarget();
  const worker = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
  worker.onmessage = ({ data }) => {
    if (data.type !== "event") return;
    events.dispatchEvent(new CustomEvent(data.event.type, { detail: data.event }));
    events.dispatchEvent(new CustomEvent("event", { detail: data.event }));
  };
  worker.onerror = (e) =>
    events.dispatchEvent(new CustomEvent("event", { detail: { type: "error", message: e.message } }));
  const visibility = () => worker.postMessage({ cmd: "visibility", visible: document.visibilityState === "visible" });
  if (typeof document !== "undefined") {
    document.addEventListener("visibilitychange", visibility);
    visibility();
  }
  worker.postMessage({ cmd: "start", opts: { relay: opts.relay, rpc: opts.rpc, programId: opts.programId,
    cpuCap: opts.cpuCap ?? 100, onlyWhenHidden: !!opts.onlyWhenHidden, engine: opts.engine ?? "auto",
    register: opts.register ?? "sponsor", slot: opts.slot ?? 0, pollMs: opts.pollMs } });
  return Object.assign(events, {
    pause: () => worker.postMessage({ cmd: "pause" }),
    resume: () => worker.postMessage({ cmd: "resume" }),
    setCpuCap: (percent) => worker.postMessage({ cmd: "cpu", percent }),
    stop: () => {
      worker.postMessage({ cmd: "stop" });
      setTimeout(() => worker.terminate(), 1000);
    },
    worker,
  });
}
