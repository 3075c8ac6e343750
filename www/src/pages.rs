//! The three pages, rendered to static HTML. Every number is computed here
//! from `edgerun_protocol` (its tiers and the defaults a deployment starts
//! from); pages that can show the live chain's values mark them with
//! `data-param` and fill them from the relay's `GET /v1/config` when
//! JavaScript runs.

use std::fmt::Write as _;
use std::path::Path;

use edgerun_protocol::economics;
use edgerun_protocol::state::{ConfigParams, bounds};
use edgerun_protocol::tier::Tier;

use crate::calc;

/// The defaults a new deployment starts from (the authorities do not
/// matter for any number shown).
pub fn defaults() -> ConfigParams {
    ConfigParams::with_defaults([0; 32], [0; 32], [0; 32], [0; 32], &[])
}

/// The per-job minimum protocol fee of `p`.
pub fn min_job_fee(p: &ConfigParams) -> u64 {
    p.min_job_fee_lamports.get()
}

/// Lamports as SOL (9 decimals, trailing zeros dropped).
pub fn sol(l: u64) -> String {
    let s = format!("{}.{:09}", l / 1_000_000_000, l % 1_000_000_000);
    format!("{} SOL", s.trim_end_matches('0').trim_end_matches('.'))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A live value: the default in the page, replaced by the chain's when the
/// relay answers (`kind`: how trust.js formats it).
fn live(param: &str, kind: &str, text: &str) -> String {
    format!(
        r#"<span data-param="{param}" data-kind="{kind}">{}</span>"#,
        esc(text)
    )
}

fn page(path: &str, title: &str, description: &str, body: &str, scripts: &[&str]) -> String {
    let nav = [
        ("/", "Home"),
        ("/trust", "Trust"),
        ("/pricing", "Pricing"),
        ("/app/", "Portal"),
        ("/app/volunteer", "Volunteer"),
    ]
    .iter()
    .map(|(href, name)| {
        let current = if *href == path {
            r#" aria-current="page""#
        } else {
            ""
        };
        format!(r#"<a href="{href}"{current}>{name}</a>"#)
    })
    .collect::<Vec<_>>()
    .join("\n      ");
    let scripts: String = scripts
        .iter()
        .map(|s| format!("<script type=\"module\" src=\"/www/{s}\"></script>\n"))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta name="description" content="{description}">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/www/style.css">
{scripts}</head>
<body>
<header>
  <a class="brand" href="/">edgerun</a>
  <nav aria-label="Site">
      {nav}
  </nav>
</header>
<main>
{body}
</main>
<footer>
  <p>edgerun: deterministic WebAssembly, run by a committee, settled on Solana. <a href="/v1/openapi.json">HTTP API</a> · <a href="/app/">Portal</a></p>
</footer>
</body>
</html>
"#,
        title = esc(title),
        description = esc(description),
    )
}

pub fn landing() -> String {
    let p = defaults();
    let bronze = Tier::Bronze.committee();
    let body = format!(
        r#"<section class="hero">
<h1>Verifiable compute, paid per job.</h1>
<p class="lede">edgerun runs your deterministic WebAssembly job on a committee of independent workers — browser tabs, edge runtimes, servers — and pays them from escrow on Solana only when enough of them agree on the exact output.</p>
<ul class="points">
  <li><strong>Checked by agreement.</strong> {min} to {max} workers, drawn from a seed fixed before anyone is assigned, run every job; results are sealed, so nobody can copy an answer, and a wrong one loses its stake.</li>
  <li><strong>Paid per job.</strong> Escrow from {escrow} for {size} workers ({quorum} must agree), a {fee_pct}% protocol fee, and honest workers are never out of pocket.</li>
  <li><strong>Verify it yourself.</strong> Every output is content-addressed: your browser checks its BLAKE3 against the hash the committee revealed on chain.</li>
</ul>
<p><a class="button" href="/app/post">Post a job</a> <a href="/trust">How a result becomes trustworthy</a> · <a href="/pricing">Pricing</a></p>
</section>
<section id="run" aria-labelledby="run-title">
<h2 id="run-title">Run a job</h2>
<p>A real job on this stack, posted for you by the operator (no wallet needed): pick a workload and watch its committee.</p>
<noscript><p>The live demo needs JavaScript; everything else on this site reads without it.</p></noscript>
<form id="demo">
  <fieldset>
    <legend>Workload</legend>
    <label><input type="radio" name="workload" value="json-redact" checked> JSON redaction: a customer profile with its secrets removed</label>
    <label><input type="radio" name="workload" value="compress-hash"> Compress and hash: 14 KB of text, deflated and hashed</label>
  </fieldset>
  <button type="submit">Run a job</button>
</form>
<ol id="steps" aria-label="Progress" class="steps">
  <li data-step="posted">Posted: escrow on chain</li>
  <li data-step="assigned">Assigned: a committee drawn from the seed</li>
  <li data-step="sealed">Sealed: each worker commits to its result</li>
  <li data-step="revealed">Revealed: a quorum agrees on one output</li>
  <li data-step="finalized">Finalized: output published, workers paid</li>
</ol>
<p id="demo-status" role="status"></p>
<p id="demo-error" role="alert"></p>
<div id="result" hidden>
  <h3>Output</h3>
  <pre id="output" aria-label="Output" tabindex="0"></pre>
  <p id="verdict" role="status" aria-label="Verification"></p>
  <p><a id="job-link" href="/app/">Open this job in the portal</a></p>
</div>
</section>"#,
        min = edgerun_protocol::tier::MIN_COMMITTEE_SIZE,
        max = edgerun_protocol::tier::MAX_COMMITTEE_SIZE,
        escrow = sol(Tier::Bronze.default_escrow()),
        size = bronze.size,
        quorum = bronze.quorum,
        fee_pct = p.protocol_fee_bps.get() as f64 / 100.0,
    );
    page(
        "/",
        "edgerun — verifiable compute, paid per job",
        "Deterministic WebAssembly jobs run by a committee of workers and settled on Solana.",
        &body,
        &["demo.js"],
    )
}

pub fn trust() -> String {
    let p = defaults();
    let mut tiers = String::new();
    for t in Tier::ALL {
        let c = t.committee();
        let escrow = t.default_escrow();
        let lock = economics::required_lock(p.min_worker_stake_lamports.get(), escrow, c.size);
        let _ = writeln!(
            tiers,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            t.sla_name(),
            c.size,
            c.quorum,
            sol(lock)
        );
    }
    let slot_s = |slots: u64| format!("{slots} slots (about {} s)", slots * 400 / 1000);
    let body = format!(
        r#"<h1>Trust: how a result becomes trustworthy</h1>
<p class="lede">edgerun does not ask you to trust a worker. It asks several independent workers for the same exact output, makes it expensive to lie and free to check, and pays only after the output is available to you.</p>
<ol class="story">
<li><h2>The job is deterministic</h2>
<p>A job is a WebAssembly module and its input, named by BLAKE3. It runs under the runtime it names (its <code>runtime_id</code>) with no floating point, a fuel cap and a memory cap, so every honest worker computes the same bytes — or fails the same way.</p></li>
<li><h2>The committee is drawn from a seed</h2>
<p>After the escrow is on chain, a seed is set, then the committee is drawn from it over a snapshot of the eligible workers (weighted by stake), both recorded on chain. Anyone can recompute the draw: the portal's <em>Verify committee</em> does it in your browser.</p></li>
<li><h2>Results are sealed</h2>
<p>Each seat submits a seal that binds its result to its own key, signed with Ed25519. Nobody can copy what they cannot see: the output hash is revealed only once a quorum of seals agree.</p></li>
<li><h2>Wrong answers cost, silence costs</h2>
<p>Each seated worker locks stake for the job. A submitter whose result differs from the quorum's is slashed its lock; a silent seat is penalized and replaced by the next draw from the seed. Honest workers get their lock back with their share.</p></li>
<li><h2>The output is published before anyone is paid</h2>
<p>The winner publishes the output (a URL and its hash) within the data-availability window. Finalize pays only then; anyone can finalize. You check the bytes against the hash yourself.</p></li>
</ol>
<h2>The numbers</h2>
<p>Defaults of a new deployment, replaced by this chain's own values when the page can read them (<span data-source>defaults</span>).</p>
<table aria-label="Committees">
<thead><tr><th>Tier</th><th>Committee</th><th>Quorum</th><th>Lock per worker at the tier's default escrow</th></tr></thead>
<tbody>
{tiers}</tbody>
</table>
<dl class="params">
<dt>Minimum worker stake</dt><dd>{min_stake}</dd>
<dt>Penalty for a silent seat</dt><dd>{penalty}</dd>
<dt>Submit window</dt><dd>{submit}</dd>
<dt>Data-availability window</dt><dd>{da}</dd>
<dt>Challenge window</dt><dd>{challenge}</dd>
<dt>Protocol fee</dt><dd>{fee}</dd>
</dl>
<p>An operator gone bad cannot raise these past the program's bounds: a fee of at most {max_fee}%, windows of at most {max_window} slots, jobs living at most {max_ttl} slots; and a job keeps the terms it was posted under.</p>
<h2>What we do not guarantee</h2>
<ul class="limits">
<li>Inputs and outputs are public to the committee and the relay: do not send secrets.</li>
<li>The scheduler chooses committees off chain, from a seed one operator sets; the draw is checkable, the seed is not yet beyond that operator's influence.</li>
<li>Availability is a URL plus a hash: the reader checks the bytes, and the relay may go away.</li>
<li>A job is deterministic only under the <code>runtime_id</code> it names.</li>
<li>A committee that colludes can agree on a wrong output; larger tiers make that costlier, not impossible. The collusion figures will be published with the committee simulation.</li>
</ul>"#,
        min_stake = live(
            "min_worker_stake_lamports",
            "sol",
            &sol(p.min_worker_stake_lamports.get())
        ),
        penalty = live(
            "non_response_slash_lamports",
            "sol",
            &sol(p.non_response_slash_lamports.get())
        ),
        submit = live(
            "submit_window_slots",
            "slots",
            &slot_s(p.submit_window_slots.get())
        ),
        da = live("da_window_slots", "slots", &slot_s(p.da_window_slots.get())),
        challenge = live(
            "challenge_window_slots",
            "slots",
            &slot_s(p.challenge_window_slots.get())
        ),
        fee = live(
            "protocol_fee_bps",
            "bps",
            &format!("{} bps", p.protocol_fee_bps.get())
        ),
        max_fee = bounds::MAX_PROTOCOL_FEE_BPS / 100,
        max_window = bounds::MAX_WINDOW_SLOTS,
        max_ttl = bounds::MAX_JOB_TTL_SLOTS,
    );
    page(
        "/trust",
        "edgerun — trust",
        "How an edgerun result becomes trustworthy, with the numbers, and what edgerun does not guarantee.",
        &body,
        &["live.js"],
    )
}

pub fn pricing() -> String {
    let p = defaults();
    let bps = p.protocol_fee_bps.get();
    let mut rows = String::new();
    for (i, t) in Tier::ALL.iter().enumerate() {
        let c = t.committee();
        let upper = Tier::ALL.get(i + 1).map_or("and up".to_string(), |n| {
            format!("to {}", sol(n.min_escrow()))
        });
        let from = t.min_escrow().max(p.min_escrow_lamports.get());
        let escrow = t.default_escrow();
        let min = min_job_fee(&p);
        let all =
            economics::split_payout_with_minimum(escrow, bps, min, c.size).expect("default fee");
        let quorum =
            economics::split_payout_with_minimum(escrow, bps, min, c.quorum).expect("default fee");
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{} / {}</td><td>{} {}</td><td>{}</td><td>{} to {}</td></tr>",
            t.sla_name(),
            c.quorum,
            c.size,
            sol(from),
            upper,
            sol(all.fee),
            sol(all.per_winner),
            sol(quorum.per_winner),
        );
    }
    let body = format!(
        r#"<h1>Pricing</h1>
<p class="lede">You pay per job: an escrow that buys a tier, held on chain and paid to the workers who agree, less the protocol fee. Nothing else is billed.</p>
<table aria-label="Tiers">
<thead><tr><th>Tier</th><th>Quorum / committee</th><th>Escrow</th><th>Protocol fee at the tier's default escrow</th><th>Each agreeing worker earns (all agree to quorum only)</th></tr></thead>
<tbody>
{rows}</tbody>
</table>
<dl class="params">
<dt>Protocol fee</dt><dd>{fee_bps} bps of the escrow, at least the per-job minimum fee of {min_fee}, never more than the escrow; to the treasury.</dd>
<dt>Priority fee</dt><dd>Optional, per job, paid with the escrow: the scheduler seeds and assigns jobs with the highest priority fee first, then the oldest. It goes to the treasury when the job finalizes and comes back in full if the job is cancelled.</dd>
<dt>Deposits</dt><dd>The records deposit pays the rent of the committee's records (what they do not use comes back); the Job account's rent stays with the job, which remains on chain as evidence.</dd>
<dt>Workers</dt><dd>Honest workers are never out of pocket: the job pays their records' rent, their stake comes back with their share, and transaction fees can be paid by the relay.</dd>
</dl>
<h2 id="calc-title">Calculator</h2>
<form id="calc" aria-labelledby="calc-title" data-bps="{bps}" data-min-fee="{min_fee_lamports}">
<label>Tier <select name="tier">
  {tier_options}
</select></label>
<label>Escrow (SOL) <input name="escrow" type="text" inputmode="decimal" value="0.01"></label>
<label>Priority fee (SOL) <input name="priority" type="text" inputmode="decimal" value="0"></label>
<button type="submit">Calculate</button>
</form>
<noscript><p>The calculator needs JavaScript; the table above holds the same figures for each tier's default escrow.</p></noscript>
<p id="calc-error" role="alert"></p>
<table aria-label="Your job" id="quote" hidden>
<tbody>
<tr><th scope="row">You pay (with the network's signature fee)</th><td data-out="pays"></td></tr>
<tr><th scope="row">Of which refundable deposits</th><td data-out="deposits"></td></tr>
<tr><th scope="row">Each worker earns, if all agree</th><td data-out="all"></td></tr>
<tr><th scope="row">Each worker earns, if only a quorum agrees</th><td data-out="quorum"></td></tr>
<tr><th scope="row">The treasury keeps (fee, remainder and priority fee, all agreeing)</th><td data-out="treasury"></td></tr>
</tbody>
</table>
<p>Figures from the protocol's own arithmetic (compiled to a 10 KB wasm module), with this chain's fee when the page can read it (<span data-source>defaults</span>).</p>"#,
        fee_bps = live("protocol_fee_bps", "raw", &bps.to_string()),
        min_fee_lamports = min_job_fee(&p),
        min_fee = live("min_job_fee_lamports", "sol", &sol(min_job_fee(&p))),
        tier_options = Tier::ALL
            .iter()
            .enumerate()
            .map(|(i, t)| format!(r#"<option value="{i}">{}</option>"#, t.sla_name()))
            .collect::<Vec<_>>()
            .join("\n  "),
    );
    page(
        "/pricing",
        "edgerun — pricing",
        "edgerun's SLA tiers, fees and a calculator: what a job costs and what each worker earns.",
        &body,
        &["live.js", "pricing.js"],
    )
}

/// Writes `index.html`, `trust.html`, `pricing.html` and the static
/// assets (`www/static/`) into `out`, and next to it (`quotes.json`, not
/// served) the protocol's figures for a table of escrows, which the
/// browser test compares the calculator with.
pub fn render(out: &Path, assets: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("index.html"), landing())?;
    std::fs::write(out.join("trust.html"), trust())?;
    std::fs::write(out.join("pricing.html"), pricing())?;
    for entry in std::fs::read_dir(assets)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), out.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// The protocol's figures for `escrow` at `tier` (the calculator's table).
pub fn quote(
    escrow: u64,
    tier: u32,
    fee_bps: u16,
    min_fee: u64,
    priority: u64,
) -> serde_like::Quote {
    let size = calc::tier_size(tier);
    let quorum = calc::tier_quorum(tier);
    let deposits = calc::records_deposit(size) + calc::job_rent();
    serde_like::Quote {
        escrow,
        tier,
        priority,
        pays: escrow + priority + deposits + calc::SIGNATURE_FEE,
        deposits,
        all: calc::per_winner(escrow, fee_bps.into(), min_fee, size),
        quorum: calc::per_winner(escrow, fee_bps.into(), min_fee, quorum),
        treasury: calc::treasury(escrow, fee_bps.into(), min_fee, size) + priority,
    }
}

/// A quote as JSON, without a serde dependency.
pub mod serde_like {
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub struct Quote {
        pub escrow: u64,
        pub tier: u32,
        pub priority: u64,
        pub pays: u64,
        pub deposits: u64,
        pub all: u64,
        pub quorum: u64,
        pub treasury: u64,
    }

    impl Quote {
        pub fn json(&self) -> String {
            format!(
                r#"{{"escrow":{},"tier":{},"priority":{},"pays":{},"deposits":{},"all":{},"quorum":{},"treasury":{}}}"#,
                self.escrow,
                self.tier,
                self.priority,
                self.pays,
                self.deposits,
                self.all,
                self.quorum,
                self.treasury
            )
        }
    }
}
