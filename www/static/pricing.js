// The pricing calculator: edgerun_protocol's economics compiled to
// calc.wasm (exports take and return BigInt for u64), with this chain's
// fee from live.js when the relay answers, else the defaults on the page.

import { config } from "./live.js";

const form = document.getElementById("calc");
const error = document.getElementById("calc-error");
const quote = document.getElementById("quote");
const { instance } = await WebAssembly.instantiateStreaming(fetch("/www/calc.wasm"));
const x = instance.exports;
const names = [...form.tier.options].map((o) => o.textContent);

const sol = (n) => {
  const s = `${n / 1_000_000_000n}.${(n % 1_000_000_000n).toString().padStart(9, "0")}`;
  return `${s.replace(/0+$/, "").replace(/\.$/, "")} SOL`;
};
/// "1.5" SOL → lamports, exactly; null if it is not a plain amount.
function lamports(text) {
  const m = /^\s*(\d{1,10})(?:\.(\d{0,9}))?\s*$/.exec(text);
  if (!m) return null;
  return BigInt(m[1]) * 1_000_000_000n + BigInt((m[2] ?? "").padEnd(9, "0") || "0");
}

function calculate() {
  error.textContent = "";
  quote.hidden = true;
  const tier = Number(form.tier.value);
  const escrow = lamports(form.escrow.value);
  const priority = lamports(form.priority.value);
  if (escrow === null || priority === null) {
    error.textContent = "Write amounts in SOL, like 0.25 (up to 9 decimals).";
    return;
  }
  const bought = x.tier_for_escrow(escrow);
  if (bought !== tier) {
    const min = x.tier_min_escrow(tier);
    const next = tier + 1 < names.length ? x.tier_min_escrow(tier + 1) : null;
    error.textContent = `An escrow of ${sol(escrow)} buys ${names[bought]}. ${names[tier]} needs at least ${sol(min)}${next === null ? "" : ` and less than ${sol(next)}`}.`;
    return;
  }
  const bps = Number(form.dataset.bps);
  const minFee = BigInt(form.dataset.minFee);
  const size = x.tier_size(tier);
  const quorum = x.tier_quorum(tier);
  const deposits = x.records_deposit(size) + x.job_rent();
  const out = {
    pays: escrow + priority + deposits + x.signature_fee(),
    deposits,
    all: x.per_winner(escrow, bps, minFee, size),
    quorum: x.per_winner(escrow, bps, minFee, quorum),
    treasury: x.treasury(escrow, bps, minFee, size) + priority,
  };
  for (const [k, v] of Object.entries(out)) quote.querySelector(`[data-out=${k}]`).textContent = sol(v);
  quote.hidden = false;
}

const c = await config;
form.dataset.bps = String(c?.protocol_fee_bps ?? form.dataset.bps);
form.dataset.minFee = String(c?.min_job_fee_lamports ?? form.dataset.minFee);
form.addEventListener("submit", (e) => {
  e.preventDefault();
  calculate();
});
calculate();
