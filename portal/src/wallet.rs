//! The app side of the Wallet Standard, spoken directly through js-sys:
//! any wallet that registers itself (Phantom, Solflare, Backpack, or a test
//! wallet) through `wallet-standard:register-wallet` is listed, whatever
//! other features it also has; none can stop the app by sending something
//! malformed (every step checks, nothing panics).
//!
//! Protocol (`@wallet-standard/base`): the app listens for
//! `wallet-standard:register-wallet` and calls the event's `detail` with
//! `{register}`; then it dispatches `wallet-standard:app-ready` whose
//! `detail` is `{register}`, which wallets loaded earlier answer. A wallet
//! object has `name`, `icon`, `chains`, `features` and `accounts`; we use
//! `standard:connect`, `solana:signTransaction` and `solana:signMessage`,
//! always passing back the very account object `connect` gave (wallets
//! compare it by identity).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

fn get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// What a wallet said when it refused or failed, for a person to read.
pub fn describe(e: &JsValue) -> String {
    let message = get(e, "message").as_string().or_else(|| e.as_string());
    // Wallets send EIP-1193-style codes: 4001 is "the user rejected".
    let code = get(e, "code").as_f64().map(|c| c as i64);
    match (code, message) {
        (Some(4001), _) => "You rejected the request in your wallet; nothing was signed.".into(),
        (_, Some(m)) if !m.is_empty() => m,
        _ => "the wallet failed without saying why".into(),
    }
}

/// Calls `obj[method](arg)` with `obj` as `this` and awaits the result.
async fn call(obj: &JsValue, method: &str, arg: Option<&JsValue>) -> Result<JsValue, JsValue> {
    let f: Function = get(obj, method)
        .dyn_into()
        .map_err(|_| JsValue::from_str(&format!("the wallet has no {method}()")))?;
    let out = match arg {
        Some(a) => f.call1(obj, a)?,
        None => f.call0(obj)?,
    };
    JsFuture::from(Promise::resolve(&out)).await
}

/// A registered wallet.
#[derive(Clone)]
pub struct Wallet(Object);

impl Wallet {
    pub fn name(&self) -> String {
        get(&self.0, "name")
            .as_string()
            .unwrap_or_else(|| "Unnamed wallet".into())
    }

    /// A `data:` image URL, or empty (anything else is not shown).
    pub fn icon(&self) -> String {
        get(&self.0, "icon")
            .as_string()
            .filter(|i| i.starts_with("data:image/"))
            .unwrap_or_default()
    }

    fn feature(&self, id: &str) -> Option<JsValue> {
        let f = get(&get(&self.0, "features"), id);
        f.is_object().then_some(f)
    }

    /// On a Solana chain, with connect and signTransaction: the wallets
    /// this portal can use. Other features and chains are ignored.
    pub fn usable(&self) -> bool {
        let solana = Array::from(&get(&self.0, "chains"))
            .iter()
            .any(|c| c.as_string().is_some_and(|c| c.starts_with("solana:")));
        solana
            && self.feature("standard:connect").is_some()
            && self.feature("solana:signTransaction").is_some()
    }

    /// Asks the wallet to connect; the account it chose.
    pub async fn connect(&self) -> Result<Account, String> {
        let f = self
            .feature("standard:connect")
            .ok_or("this wallet cannot connect (no standard:connect)")?;
        let out = call(&f, "connect", None).await.map_err(|e| describe(&e))?;
        let account = Array::from(&get(&out, "accounts")).get(0);
        let address = get(&account, "address")
            .as_string()
            .ok_or("the wallet connected but shared no account; unlock it and try again")?;
        Ok(Account {
            wallet: self.clone(),
            object: account,
            address,
        })
    }
}

/// A connected account: the wallet, the account object it gave, and its
/// base58 address.
#[derive(Clone)]
pub struct Account {
    pub wallet: Wallet,
    object: JsValue,
    pub address: String,
}

impl Account {
    /// `solana:signTransaction` on the wire bytes of one transaction; the
    /// signed transaction the wallet returns (its bytes, which are what is
    /// sent: a wallet may re-serialize).
    pub async fn sign_transaction(&self, tx: &[u8], chain: &str) -> Result<Vec<u8>, String> {
        let f = self
            .wallet
            .feature("solana:signTransaction")
            .ok_or("this wallet cannot sign transactions")?;
        let input = Object::new();
        let set = |k: &str, v: &JsValue| Reflect::set(&input, &JsValue::from_str(k), v);
        set("account", &self.object).map_err(|e| describe(&e))?;
        set("transaction", &Uint8Array::from(tx).into()).map_err(|e| describe(&e))?;
        set("chain", &JsValue::from_str(chain)).map_err(|e| describe(&e))?;
        let out = call(&f, "signTransaction", Some(&input))
            .await
            .map_err(|e| describe(&e))?;
        let signed = get(&Array::from(&out).get(0), "signedTransaction");
        if !signed.is_instance_of::<Uint8Array>() {
            return Err("the wallet returned no signed transaction".into());
        }
        Ok(Uint8Array::new(&signed).to_vec())
    }
}

/// The wallets registered so far, in the order they arrived.
#[derive(Clone, Default)]
pub struct Registry(Rc<RefCell<Vec<Wallet>>>);

impl Registry {
    pub fn wallets(&self) -> Vec<Wallet> {
        self.0.borrow().clone()
    }

    /// Starts listening for wallets and announces the app; `changed` runs
    /// after each new one.
    pub fn start(&self, changed: impl Fn() + 'static) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let list = self.0.clone();
        let register = Closure::<dyn Fn(JsValue) -> JsValue>::new(move |w: JsValue| {
            if let Ok(obj) = w.dyn_into::<Object>() {
                let known = list.borrow().iter().any(|x| Object::is(&x.0, &obj));
                if !known {
                    list.borrow_mut().push(Wallet(obj));
                    changed();
                }
            }
            // The standard wants an unregister function back.
            Closure::<dyn Fn()>::new(|| {}).into_js_value()
        })
        .into_js_value();
        let api = Object::new();
        let _ = Reflect::set(&api, &JsValue::from_str("register"), &register);
        let api = Object::freeze(&api);
        let for_listener = api.clone();
        let listener = Closure::<dyn Fn(web_sys::Event)>::new(move |e: web_sys::Event| {
            if let Ok(cb) = get(&e, "detail").dyn_into::<Function>() {
                let _ = cb.call1(&JsValue::NULL, &for_listener);
            }
        })
        .into_js_value();
        let _ = window.add_event_listener_with_callback(
            "wallet-standard:register-wallet",
            listener.unchecked_ref(),
        );
        let init = web_sys::CustomEventInit::new();
        init.set_detail(&api);
        if let Ok(ready) =
            web_sys::CustomEvent::new_with_event_init_dict("wallet-standard:app-ready", &init)
        {
            let _ = window.dispatch_event(&ready);
        }
    }
}
