//! The tester's client (Go `tester1.Clnt`): what a clerk sends its RPCs through.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use labrpc::runtime::{self, Executor};
use labrpc::{ClientEnd, Network, RpcError};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A call got no reply: the request or the reply was lost, the server is down, or the tester
/// cut this client off (Go's `Call` returning `false`). A clerk resends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no reply from {server}: {error}")]
pub struct CallFailed {
    /// The server called.
    pub server: String,
    /// What the network said.
    pub error: RpcError,
}

/// A client of the tester's network: one end per server, made the first time the client calls
/// that server (so a client can call servers started after it), enabled unless the tester has
/// cut the client off. Its links belong to the client alone: partitioning the servers never
/// touches them.
///
/// Cloning gives another handle on the same client (the tester keeps one to cut it off).
#[derive(Clone)]
pub struct Clnt {
    inner: Arc<Inner>,
}

struct Inner {
    net: Network,
    name: String,
    call_time: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    ends: BTreeMap<String, ClientEnd>,
    cut_off: bool,
    deleted: bool,
    /// The only servers the client may reach, if limited ([`Clnt::only`]).
    only: Option<Vec<String>>,
}

impl std::fmt::Debug for Clnt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.inner.state.lock();
        f.debug_struct("Clnt")
            .field("name", &self.inner.name)
            .field("servers", &st.ends.keys().collect::<Vec<_>>())
            .field("cut_off", &st.cut_off)
            .finish()
    }
}

impl State {
    /// Whether the client's end to `server` is enabled.
    fn reaches(&self, server: &str) -> bool {
        let allowed = match &self.only {
            None => true,
            Some(only) => only.iter().any(|s| s == server),
        };
        !self.cut_off && !self.deleted && allowed
    }
}

impl Clnt {
    /// A client called `name` (unique on `net`: its ends are called `<name>-<server>`).
    pub fn new(net: &Network, name: impl Into<String>) -> Self {
        Clnt::with_call_time(net, name, Duration::ZERO)
    }

    /// A client whose every call takes `call_time` of virtual time in sim mode, before it is
    /// sent. On the sim executor a call on a reliable network takes no time at all, so a client
    /// that calls in a loop for a second of run time would never see the second end; in the
    /// original (and here in real mode) each call costs some real time.
    pub fn with_call_time(net: &Network, name: impl Into<String>, call_time: Duration) -> Self {
        Clnt {
            inner: Arc::new(Inner {
                net: net.clone(),
                name: name.into(),
                call_time,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The client's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Calls `method` (`"Service.Method"`, e.g. `"KVServer.Get"`) on `server` and waits for
    /// the reply.
    ///
    /// # Errors
    /// [`CallFailed`] when no reply came; resend (after a pause) to get one.
    pub async fn call<A, R>(&self, server: &str, method: &str, args: &A) -> Result<R, CallFailed>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    {
        if !self.inner.call_time.is_zero() && runtime::executor() == Executor::Sim {
            runtime::sleep(self.inner.call_time).await;
        }
        let end = self.end(server).map_err(|error| CallFailed {
            server: server.to_string(),
            error,
        })?;
        end.call(method, args).await.map_err(|error| CallFailed {
            server: server.to_string(),
            error,
        })
    }

    /// The end to `server`, made on first use.
    fn end(&self, server: &str) -> Result<ClientEnd, RpcError> {
        let mut st = self.inner.state.lock();
        if let Some(end) = st.ends.get(server) {
            return Ok(end.clone());
        }
        let name = format!("{}-{server}", self.inner.name);
        let made = self.inner.net.make_end(name.as_str()).and_then(|end| {
            self.inner.net.connect(&name, server)?;
            self.inner.net.enable(&name, st.reaches(server))?;
            Ok(end)
        });
        // Only a second client of the same name (a tester bug) makes this fail: the call
        // then fails like a lost one, and the error says why.
        let end = made.map_err(|e| RpcError::EncodeArgs {
            name: name.clone(),
            detail: format!("cannot make the client's end: {e}"),
        })?;
        st.ends.insert(server.to_string(), end.clone());
        Ok(end)
    }

    /// Cuts the client off from every server, including those it has not called yet (Go
    /// `Clnt.DisconnectAll`).
    pub fn disconnect_all(&self) {
        self.set_enabled(false);
    }

    /// Undoes [`disconnect_all`](Self::disconnect_all) and [`only`](Self::only) (Go
    /// `Clnt.ConnectAll`).
    pub fn connect_all(&self) {
        self.set_enabled(true);
    }

    /// Limits the client to `servers` (Go `MakeClientTo`): its ends to every other server,
    /// made now or later, are disabled until [`connect_all`](Self::connect_all).
    pub fn only(&self, servers: &[String]) {
        let mut st = self.inner.state.lock();
        st.only = Some(servers.to_vec());
        self.refresh(&st);
    }

    fn set_enabled(&self, on: bool) {
        let mut st = self.inner.state.lock();
        st.cut_off = !on;
        if on {
            st.only = None;
        }
        self.refresh(&st);
    }

    fn refresh(&self, st: &State) {
        for (server, end) in &st.ends {
            // The end was made on this network and is deleted only by `delete`.
            let _ = self.inner.net.enable(end.name(), st.reaches(server));
        }
    }

    /// Deletes the client's ends (Go `DeleteClient`): its calls from now on fail.
    pub fn delete(&self) {
        let mut st = self.inner.state.lock();
        st.deleted = true;
        for end in std::mem::take(&mut st.ends).values() {
            let _ = self.inner.net.delete_end(end.name());
        }
    }
}
