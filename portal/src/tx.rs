//! Legacy Solana transactions on the wire, as far as the portal needs
//! them: one edgerun instruction built from the protocol crate's account
//! list (cancel_job, withdraw_stake), and a prepared transaction read back
//! so the portal can check what the relay asks the wallet to sign before
//! the wallet sees it.

use edgerun_protocol::instruction::{InstructionArgs, Ix, PostJob, decode_args};

fn compact(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut b = (n & 0x7f) as u8;
        n >>= 7;
        if n != 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            return;
        }
    }
}

fn read_compact(b: &[u8], at: &mut usize) -> Result<usize, String> {
    let mut n = 0usize;
    for shift in [0, 7, 14] {
        let byte = *b.get(*at).ok_or("the transaction ends early")?;
        *at += 1;
        n |= ((byte & 0x7f) as usize) << shift;
        if byte & 0x80 == 0 {
            return Ok(n);
        }
    }
    Err("a length in the transaction is too long".into())
}

fn take<'a>(b: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], String> {
    let s = b
        .get(*at..at.checked_add(n).ok_or("overflow")?)
        .ok_or("the transaction ends early")?;
    *at += n;
    Ok(s)
}

/// An unsigned transaction of one instruction of `program` with `args`,
/// its accounts in the protocol's order; the first account (a payer by the
/// protocol's definition) pays the fee and is the only signer.
pub fn single<T: InstructionArgs>(
    program: &[u8; 32],
    args: &T,
    accounts: &[[u8; 32]],
    blockhash: &[u8; 32],
) -> Vec<u8> {
    let defs = T::IX.accounts();
    debug_assert_eq!(defs.len(), accounts.len());
    debug_assert!(defs[0].signer && defs[0].writable);
    // Signer-writable (the payer), then writable, then read-only, the
    // program last.
    let mut keys: Vec<([u8; 32], bool)> = vec![(accounts[0], true)];
    for (k, d) in accounts.iter().zip(defs).skip(1) {
        if d.writable {
            keys.push((*k, true));
        }
    }
    for (k, d) in accounts.iter().zip(defs).skip(1) {
        if !d.writable {
            keys.push((*k, false));
        }
    }
    keys.push((*program, false));
    let readonly = keys.iter().filter(|(_, w)| !w).count();
    let mut m = vec![1u8, 0, readonly as u8];
    compact(&mut m, keys.len());
    for (k, _) in &keys {
        m.extend_from_slice(k);
    }
    m.extend_from_slice(blockhash);
    compact(&mut m, 1);
    m.push((keys.len() - 1) as u8);
    compact(&mut m, accounts.len());
    for a in accounts {
        let i = keys.iter().position(|(k, _)| k == a).expect("listed");
        m.push(i as u8);
    }
    let data = args.to_data();
    compact(&mut m, data.len());
    m.extend_from_slice(&data);
    let mut tx = vec![1u8];
    tx.extend_from_slice(&[0u8; 64]);
    tx.extend_from_slice(&m);
    tx
}

/// What a prepared post_job transaction asks for.
#[derive(Clone, Debug)]
pub struct PreparedPost {
    pub fee_payer: [u8; 32],
    pub args: PostJob,
}

/// Reads the relay's post_job transaction and checks that it is what the
/// page asked for: one post_job instruction of `program`, paid by `client`
/// (the only signer), nothing else the wallet would sign.
pub fn check_post_job(
    tx: &[u8],
    program: &[u8; 32],
    client: &[u8; 32],
) -> Result<PreparedPost, String> {
    let bad = |why: &str| {
        format!("The relay's transaction is not what was asked ({why}); nothing was signed")
    };
    let mut at = 0;
    let sigs = read_compact(tx, &mut at).map_err(|e| bad(&e))?;
    take(tx, &mut at, sigs * 64).map_err(|e| bad(&e))?;
    let header = take(tx, &mut at, 3).map_err(|e| bad(&e))?;
    if header[0] & 0x80 != 0 {
        return Err(bad("a versioned message"));
    }
    let (signers, _ro_signed, _ro_unsigned) = (header[0] as usize, header[1], header[2]);
    let n = read_compact(tx, &mut at).map_err(|e| bad(&e))?;
    let keys: Vec<[u8; 32]> = (0..n)
        .map(|_| take(tx, &mut at, 32).map(|k| k.try_into().expect("32")))
        .collect::<Result<_, _>>()
        .map_err(|e| bad(&e))?;
    take(tx, &mut at, 32).map_err(|e| bad(&e))?;
    if signers != 1 || sigs != 1 || keys.first() != Some(client) {
        return Err(bad(
            "it must have one signer, the connected wallet, as fee payer",
        ));
    }
    let count = read_compact(tx, &mut at).map_err(|e| bad(&e))?;
    if count != 1 {
        return Err(bad(&format!("{count} instructions, not one post_job")));
    }
    let p = *take(tx, &mut at, 1)
        .map_err(|e| bad(&e))?
        .first()
        .expect("1") as usize;
    if keys.get(p) != Some(program) {
        return Err(bad("the instruction is not the edgerun program's"));
    }
    let accounts = read_compact(tx, &mut at).map_err(|e| bad(&e))?;
    let idx = take(tx, &mut at, accounts).map_err(|e| bad(&e))?.to_vec();
    let len = read_compact(tx, &mut at).map_err(|e| bad(&e))?;
    let data = take(tx, &mut at, len).map_err(|e| bad(&e))?;
    if at != tx.len() {
        return Err(bad("bytes after the message"));
    }
    if Ix::from_data(data) != Ok(Ix::PostJob) {
        return Err(bad("the instruction is not post_job"));
    }
    let args = decode_args::<PostJob>(data).map_err(|e| bad(&e.to_string()))?;
    if idx.first().and_then(|i| keys.get(*i as usize)) != Some(client) {
        return Err(bad("the job's client is not the connected wallet"));
    }
    Ok(PreparedPost {
        fee_payer: keys[0],
        args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgerun_protocol::instruction::CancelJob;

    #[test]
    fn a_built_transaction_is_read_back_and_a_foreign_one_refused() {
        let (program, client, job, hash) = ([7u8; 32], [1u8; 32], [2u8; 32], [9u8; 32]);
        let tx = single(&program, &CancelJob {}, &[client, job], &hash);
        // One signature slot, header 1/0/1, keys client, job, program.
        assert_eq!(tx[0], 1);
        assert_eq!(&tx[65..68], &[1, 0, 1]);
        assert_eq!(&tx[69..101], &client);
        assert_eq!(&tx[101..133], &job);
        assert_eq!(&tx[133..165], &program);
        // Not a post_job: refused, with the reason.
        let e = check_post_job(&tx, &program, &client).unwrap_err();
        assert!(e.contains("not post_job"), "{e}");
        // Another fee payer: refused.
        let e = check_post_job(&tx, &program, &job).unwrap_err();
        assert!(e.contains("fee payer"), "{e}");
    }
}
