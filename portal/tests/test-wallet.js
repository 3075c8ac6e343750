// The project's own test wallet: a Wallet Standard wallet with a fixed
// Ed25519 key, registered through `wallet-standard:register-wallet` before
// the page's scripts run (Playwright addInitScript), so the portal sees it
// exactly as it would see Phantom. Signs with WebCrypto.
//
// Argument: {name, address, publicKey: number[32], pkcs8: number[]}.
// `window.__testWallet` lets the test reject the next request (as a person
// pressing Cancel would) and read which calls were made.
(({ name, address, publicKey, pkcs8 }) => {
  const CHAINS = ["solana:mainnet", "solana:devnet", "solana:testnet", "solana:localnet"];
  const keyP = crypto.subtle.importKey("pkcs8", new Uint8Array(pkcs8), { name: "Ed25519" }, false, ["sign"]);
  const sign = async (bytes) => new Uint8Array(await crypto.subtle.sign("Ed25519", await keyP, bytes));
  const pub = new Uint8Array(publicKey);
  const account = Object.freeze({
    address,
    get publicKey() {
      return pub.slice();
    },
    chains: CHAINS,
    features: ["solana:signTransaction", "solana:signMessage"],
  });
  const state = (window.__testWallet = { calls: [], rejectNext: false, connected: false });
  const listeners = new Set();
  const changed = () => listeners.forEach((l) => l({ accounts: wallet.accounts }));
  const gate = (what, acct) => {
    state.calls.push(what);
    if (state.rejectNext) {
      state.rejectNext = false;
      throw Object.assign(new Error("User rejected the request."), { code: 4001 });
    }
    if (acct !== undefined && acct !== account) throw new Error("unknown account");
  };
  // A legacy transaction's wire bytes: shortvec signature count (< 128),
  // the signatures, then the message whose header's first byte is the
  // number of required signatures and whose keys follow the key count.
  async function signTransaction(bytes) {
    const tx = new Uint8Array(bytes);
    const sigs = tx[0];
    const message = tx.subarray(1 + 64 * sigs);
    const required = message[0];
    const keys = message.subarray(4);
    for (let i = 0; i < required; i++) {
      const key = keys.subarray(32 * i, 32 * i + 32);
      if (key.every((b, j) => b === pub[j])) {
        tx.set(await sign(message), 1 + 64 * i);
        return tx;
      }
    }
    throw new Error("this wallet's key does not sign this transaction");
  }
  const feature = (f) => ({ version: "1.0.0", ...f });
  const wallet = {
    version: "1.0.0",
    name,
    icon: "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=",
    chains: CHAINS,
    get accounts() {
      return state.connected ? [account] : [];
    },
    get features() {
      return {
        "standard:connect": feature({
          connect: async () => {
            gate("connect");
            state.connected = true;
            changed();
            return { accounts: [account] };
          },
        }),
        "standard:disconnect": feature({
          disconnect: async () => {
            state.connected = false;
            changed();
          },
        }),
        "standard:events": feature({
          on: (event, listener) => {
            if (event === "change") listeners.add(listener);
            return () => listeners.delete(listener);
          },
        }),
        "solana:signTransaction": feature({
          supportedTransactionVersions: ["legacy", 0],
          signTransaction: async (...inputs) =>
            Promise.all(
              inputs.map(async (i) => {
                gate("signTransaction", i.account);
                return { signedTransaction: await signTransaction(i.transaction) };
              }),
            ),
        }),
        "solana:signMessage": feature({
          signMessage: async (...inputs) =>
            Promise.all(
              inputs.map(async (i) => {
                gate("signMessage", i.account);
                return { signedMessage: i.message, signature: await sign(i.message) };
              }),
            ),
        }),
      };
    },
  };
  const register = ({ register }) => register(wallet);
  window.addEventListener("wallet-standard:app-ready", (e) => register(e.detail));
  window.dispatchEvent(new CustomEvent("wallet-standard:register-wallet", { detail: register }));
})
