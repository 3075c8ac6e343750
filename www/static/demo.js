// The landing page's "Run a job": the operator posts a demo job for this
// visitor (POST /v1/demo/{workload}); the page follows it on the relay's
// event stream through its steps, then downloads the output and checks
// its BLAKE3 in this browser against the hash the committee revealed on
// chain (worker-web's own hash, loaded only now).

const $ = (id) => document.getElementById(id);
const form = $("demo");
const button = form.querySelector("button");
const steps = [...document.querySelectorAll("#steps li")];
let running = false;

function mark(step, detail) {
  const li = steps.find((l) => l.dataset.step === step);
  if (!li) return;
  const base = li.dataset.text ?? (li.dataset.text = li.textContent);
  li.classList.add("done");
  li.textContent = `✓ ${base}${detail ? ` (${detail})` : ""}`;
}

function reset() {
  for (const li of steps) {
    li.classList.remove("done");
    if (li.dataset.text) li.textContent = li.dataset.text;
  }
  $("demo-status").textContent = "";
  $("demo-error").textContent = "";
  $("result").hidden = true;
  $("verdict").textContent = "";
}

async function verify(hash) {
  const res = await fetch(`/v1/outputs/${hash}`);
  if (!res.ok) throw new Error(`the relay answered ${res.status} for the output; reload the portal's job page to retry`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes.subarray(0, 4096));
  $("output").textContent = text + (bytes.length > 4096 ? `\n… (${bytes.length} bytes in all)` : "");
  $("result").hidden = false;
  const pkg = await import("/worker/pkg/edgerun_worker_web.js");
  await pkg.default({ module_or_path: "/worker/pkg/edgerun_worker_web_bg.wasm" });
  const actual = pkg.outputHash(bytes);
  const verdict = $("verdict");
  if (actual === hash) {
    verdict.setAttribute("role", "status");
    verdict.textContent = `Verified in your browser: ${bytes.length} bytes, BLAKE3 ${actual} equals the hash the committee revealed on chain.`;
  } else {
    verdict.setAttribute("role", "alert");
    verdict.textContent = `Mismatch: the output hashes to ${actual}, but the committee revealed ${hash}. Do not use it.`;
  }
}

function follow(job) {
  return new Promise((resolve, reject) => {
    const stream = new EventSource(`/v1/jobs/${job}/events`);
    let seen = false;
    stream.addEventListener("job", (ev) => {
      seen = true;
      const v = JSON.parse(ev.data);
      const n = v.committee.length;
      if (n) mark("assigned", `${n} workers`);
      const seals = v.committee.filter((s) => s.seal).length;
      if (seals) mark("sealed", `${seals} of ${n}`);
      if (v.winning_output_hash) mark("revealed", `output ${v.winning_output_hash.slice(0, 12)}…`);
      $("demo-status").textContent = `Job ${job.slice(0, 12)}… is ${v.status}.`;
      if (v.status === "Finalized") {
        mark("finalized");
        stream.close();
        resolve(v);
      } else if (v.status === "Cancelled") {
        stream.close();
        reject(new Error("the job was cancelled before a committee finished it"));
      }
    });
    stream.addEventListener("error", (ev) => {
      if (ev.data) return; // the relay's own error event: it retries
      if (!seen) {
        stream.close();
        reject(new Error("the relay's event stream did not open; is the relay up?"));
      }
    });
  });
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  if (running) return;
  running = true;
  button.disabled = true;
  reset();
  try {
    const workload = new FormData(form).get("workload");
    $("demo-status").textContent = "Posting the job…";
    const res = await fetch(`/v1/demo/${encodeURIComponent(workload)}`, { method: "POST" });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.message ?? `the relay answered ${res.status}`);
    mark("posted", `job ${body.job_id.slice(0, 12)}…`);
    $("job-link").href = `/app/jobs/${body.job_id}`;
    const v = await follow(body.job_id);
    $("demo-status").textContent = `Job ${body.job_id.slice(0, 12)}… is Finalized.`;
    await verify(v.winning_output_hash);
  } catch (err) {
    $("demo-error").textContent = `The demo stopped: ${err.message}`;
  } finally {
    running = false;
    button.disabled = false;
  }
});
