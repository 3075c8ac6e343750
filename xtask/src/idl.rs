//! `cargo xtask idl`: the Anchor-format IDL (`program/idl/edgerun.json`),
//! generated from the protocol's layouts, instruction and account lists,
//! events and error codes — never edited by hand. `--check` fails when the
//! checked-in file is stale, and so does a unit test.

use anyhow::{Context, Result, bail};
use edgerun_client::Address;
use edgerun_protocol::error::ProgramErrorCode;
use edgerun_protocol::event::AnyEvent;
use edgerun_protocol::instruction::Ix;
use edgerun_protocol::layout::{Account, FieldDef, IdlTy, Layout};
use edgerun_protocol::limits::Limits;
use edgerun_protocol::state::{
    ConfigParams, GlobalConfig, Job, JobResult, OutputAvailability, Submission, WorkerStake,
};
use serde_json::{Value, json};
use std::path::PathBuf;

use crate::paths;

pub fn idl_path() -> PathBuf {
    paths::repo_root().join("program/idl/edgerun.json")
}

fn ty(t: &IdlTy) -> Value {
    match t {
        IdlTy::U8 => json!("u8"),
        IdlTy::U16 => json!("u16"),
        IdlTy::U32 => json!("u32"),
        IdlTy::U64 => json!("u64"),
        IdlTy::Bool => json!("bool"),
        IdlTy::Pubkey => json!("pubkey"),
        IdlTy::Array(inner, n) => json!({ "array": [ty(inner), n] }),
        IdlTy::Defined(name) => json!({ "defined": { "name": name } }),
    }
}

fn fields(fields: &[FieldDef]) -> Value {
    fields
        .iter()
        .map(|f| json!({ "name": f.name, "type": ty(&f.ty) }))
        .collect()
}

fn struct_type(name: &str, f: &[FieldDef]) -> Value {
    json!({ "name": name, "type": { "kind": "struct", "fields": fields(f) } })
}

fn account<T: Account>() -> Value {
    json!({ "name": T::NAME, "discriminator": T::DISCRIMINATOR })
}

/// The whole IDL document.
pub fn generate() -> Value {
    let instructions: Vec<Value> = Ix::ALL
        .iter()
        .map(|ix| {
            let accounts: Vec<Value> = ix
                .accounts()
                .iter()
                .map(|a| {
                    let mut v = json!({ "name": a.name });
                    if a.writable {
                        v["writable"] = json!(true);
                    }
                    if a.signer {
                        v["signer"] = json!(true);
                    }
                    v
                })
                .collect();
            let mut v = json!({
                "name": ix.name(),
                "discriminator": ix.discriminator(),
                "accounts": accounts,
                "args": fields(ix.args()),
            });
            if let Some(rest) = ix.remaining_accounts() {
                v["docs"] = json!([format!("Remaining accounts: {rest}.")]);
            }
            v
        })
        .collect();
    let mut types = vec![
        struct_type(Limits::NAME, Limits::FIELDS),
        struct_type(ConfigParams::NAME, ConfigParams::FIELDS),
        struct_type(Submission::NAME, Submission::FIELDS),
        struct_type(GlobalConfig::NAME, GlobalConfig::FIELDS),
        struct_type(WorkerStake::NAME, WorkerStake::FIELDS),
        struct_type(Job::NAME, Job::FIELDS),
        struct_type(JobResult::NAME, JobResult::FIELDS),
        struct_type(OutputAvailability::NAME, OutputAvailability::FIELDS),
    ];
    types.extend(
        AnyEvent::ALL
            .iter()
            .map(|(name, _, f)| struct_type(name, f)),
    );
    json!({
        "address": Address::new_from_array(edgerun_protocol::LOCAL_PROGRAM_ID).to_string(),
        "metadata": {
            "name": "edgerun",
            "version": env!("CARGO_PKG_VERSION"),
            "spec": "0.1.0",
            "description": "Verifiable pay-per-job wasm compute: escrow, stake, committees, attestations, payouts",
        },
        "instructions": instructions,
        "accounts": [
            account::<GlobalConfig>(),
            account::<WorkerStake>(),
            account::<Job>(),
            account::<JobResult>(),
            account::<OutputAvailability>(),
        ],
        "events": AnyEvent::ALL.iter().map(|(name, disc, _)| json!({ "name": name, "discriminator": disc })).collect::<Vec<_>>(),
        "errors": ProgramErrorCode::ALL.iter().map(|e| json!({ "code": e.code(), "name": e.name(), "msg": e.message() })).collect::<Vec<_>>(),
        "types": types,
    })
}

/// The IDL as the checked-in file holds it.
pub fn render() -> String {
    let mut s = serde_json::to_string_pretty(&generate()).expect("IDL serializes");
    s.push('\n');
    s
}

/// Writes the IDL, or with `check` fails if the file differs.
pub fn run(check: bool) -> Result<()> {
    let path = idl_path();
    let fresh = render();
    if check {
        let current = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if current != fresh {
            bail!(
                "{} is stale: run `cargo xtask idl` and commit it",
                path.display()
            );
        }
        println!("idl: {} is up to date", path.display());
    } else {
        std::fs::create_dir_all(path.parent().expect("idl dir"))?;
        std::fs::write(&path, fresh)?;
        println!("idl: wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_idl_is_current() {
        let current = std::fs::read_to_string(idl_path()).expect("program/idl/edgerun.json exists");
        assert!(
            current == render(),
            "program/idl/edgerun.json is stale: run `cargo xtask idl` and commit it"
        );
    }

    #[test]
    fn idl_has_every_instruction_account_event_and_error() {
        let idl = generate();
        assert_eq!(idl["instructions"].as_array().unwrap().len(), 18);
        assert_eq!(idl["accounts"].as_array().unwrap().len(), 5);
        assert_eq!(idl["events"].as_array().unwrap().len(), 13);
        assert_eq!(idl["errors"][0]["code"], 6000);
        let post = idl["instructions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "post_job")
            .unwrap();
        assert_eq!(
            post["accounts"][0],
            json!({ "name": "client", "writable": true, "signer": true })
        );
        assert_eq!(
            post["args"][3],
            json!({ "name": "limits", "type": { "defined": { "name": "Limits" } } })
        );
    }
}
