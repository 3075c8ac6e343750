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
// taking-seats / idle-no-seats, running, ran (engine, fuel_used, fuel_cap),
// submitted, revealed, paid, penalized, slashed, earnings (totals from
// chain), refused (a bundle that does not match its job), stalled (a seat
// step failed: the seat stays silent), paused, resumed, cpu, error, stopped.
//
// A volunteer with a wallet: `register: "wallet"`; on `needs-wallet`,
// `await v.registrationTransaction(walletAddress, lamports)` gives a
// base64 transaction the worker key has signed; the wallet signs and sends
// it, and the worker starts once the stake exists. `await v.stake()` is
// the stake now ({total, locked, authority} or null);
// `await v.withdrawTransaction(walletAddress, lamports)` is an unsigned
// withdraw_stake to the wallet (the stake's authority) for it to sign.

export function startVolunteer(opts) {
  const events = new EventTarget();
  const worker = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
  const pending = new Map();
  let nextId = 0;
  const ask = (msg) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...msg, id });
    });
  worker.onmessage = ({ data }) => {
    if (data.type === "reply") {
      const p = pending.get(data.id);
      pending.delete(data.id);
      if (p) data.error === undefined ? p.resolve(data.result) : p.reject(new Error(data.error));
      return;
    }
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
    register: opts.register ?? "sponsor", slot: opts.slot ?? 0, pollMs: opts.pollMs, trace: !!opts.trace } });
  return Object.assign(events, {
    pause: () => worker.postMessage({ cmd: "pause" }),
    resume: () => worker.postMessage({ cmd: "resume" }),
    setCpuCap: (percent) => worker.postMessage({ cmd: "cpu", percent }),
    registrationTransaction: (authority, lamports) => ask({ cmd: "registration", authority, lamports }),
    withdrawTransaction: (authority, lamports) => ask({ cmd: "withdraw", authority, lamports }),
    stake: () => ask({ cmd: "stake" }),
    // "Only while idle": call from a click (the browser asks the user);
    // resolves to whether the idle signal is on. Where IdleDetector is
    // missing or refused, only the tab being hidden counts.
    requestIdlePermission: async () => {
      if (typeof IdleDetector === "undefined") return false;
      if ((await IdleDetector.requestPermission()) !== "granted") return false;
      const detector = new IdleDetector();
      detector.addEventListener("change", () =>
        worker.postMessage({ cmd: "idle", idle: detector.userState === "idle" || detector.screenState === "locked" }),
      );
      await detector.start({ threshold: 60_000 });
      return true;
    },
    stop: () => {
      worker.postMessage({ cmd: "stop" });
      setTimeout(() => worker.terminate(), 1000);
    },
    worker,
  });
}
