// Replaces the default numbers a page shows (data-param) with this chain's
// own, from the relay's GET /v1/config; without it the defaults stay.

const sol = (l) => {
  const n = BigInt(l);
  const s = `${n / 1_000_000_000n}.${(n % 1_000_000_000n).toString().padStart(9, "0")}`;
  return `${s.replace(/0+$/, "").replace(/\.$/, "")} SOL`;
};
const formats = {
  sol,
  slots: (v) => `${v} slots (about ${Math.floor((Number(v) * 400) / 1000)} s)`,
  bps: (v) => `${v} bps`,
  raw: (v) => String(v),
};

export const config = fetch("/v1/config")
  .then((r) => (r.ok ? r.json() : null))
  .catch(() => null);

const c = await config;
if (c) {
  for (const el of document.querySelectorAll("[data-param]")) {
    const v = c[el.dataset.param];
    if (v !== undefined) el.textContent = (formats[el.dataset.kind] ?? formats.raw)(v);
  }
  for (const el of document.querySelectorAll("[data-source]")) el.textContent = "this chain's values";
}
