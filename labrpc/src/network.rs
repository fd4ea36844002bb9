//! The simulated network: client ends, servers, faults and counters, as in the Go `labrpc`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec;
use crate::error::{NetworkError, RpcError};
use crate::faults::*;
use crate::observe::{Observer, ObserverInstalled, Watch};
use crate::runtime::{self, trace_event, JoinError};
use crate::server::{Request, Server, ServerInner};

struct EndState {
    id: u64,
    enabled: bool,
    /// Shared, so that routing a call copies a pointer, not the name.
    server: Option<Arc<str>>,
}

/// A hasher for the network's tables of end and server names, looked up several times per
/// call: a multiply per eight bytes instead of SipHash (the names are the tester's own, and
/// nothing iterates these tables in an order that matters).
#[derive(Default)]
struct NameHasher(u64);

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
}

type NameMap<V> = HashMap<String, V, BuildHasherDefault<NameHasher>>;

/// Method names interned by the network, with their trace hashes (a handful per run).
const MAX_INTERNED_METHODS: usize = 64;

struct NetState {
    reliable: bool,
    long_delays: bool,
    long_reordering: bool,
    ends: NameMap<EndState>,
    /// A deleted server keeps its key with `None`, as in the original.
    servers: NameMap<Option<Server>>,
}

struct NetInner {
    state: Mutex<NetState>,
    total_count: AtomicU64,
    total_bytes: AtomicU64,
    closed: AtomicBool,
    next_end: AtomicU64,
    /// Hears every call's life, once installed.
    observer: OnceLock<Arc<dyn Observer>>,
    /// Numbers the observed calls.
    next_call: AtomicU64,
    /// The method names called so far, shared by their calls, with their trace hashes: a
    /// call then allocates no name and hashes none.
    methods: Mutex<Vec<(Arc<str>, u64)>>,
}

/// The simulated network: ends (one-way ports from a client to a server), servers, the fault
/// switches and the counters.
///
/// A new end starts disabled and unconnected. The fault model and its numbers are the
/// original's (see [`faults`](crate::faults)); every random draw comes from the lab runtime.
///
/// ```
/// use labrpc::{runtime, Network, Server, Service};
///
/// let outcome = runtime::run(runtime::RunConfig::sim(1), || async {
///     let net = Network::new();
///     let mut svc = Service::new("Echo").expect("a good name");
///     svc.handle("Double", |x: u64| x * 2).expect("a new method");
///     let server = Server::new();
///     server.add_service(svc).expect("a new service");
///     net.add_server("s1", server);
///
///     let end = net.make_end("client-to-s1").expect("a new end");
///     net.connect("client-to-s1", "s1").expect("the end exists");
///     net.enable("client-to-s1", true).expect("the end exists");
///     end.call::<_, u64>("Echo.Double", &21u64).await
/// })
/// .expect("the run finishes");
/// assert_eq!(outcome.value, Ok(42));
/// ```
#[derive(Clone)]
pub struct Network {
    inner: Arc<NetInner>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.inner.state.lock();
        f.debug_struct("Network")
            .field("reliable", &st.reliable)
            .field("long_delays", &st.long_delays)
            .field("long_reordering", &st.long_reordering)
            .field("ends", &st.ends.len())
            .field("servers", &st.servers.len())
            .finish()
    }
}

impl Default for Network {
    fn default() -> Self {
        Network::new()
    }
}

impl Network {
    /// A reliable network without long delays or long reordering.
    pub fn new() -> Self {
        Network {
            inner: Arc::new(NetInner {
                state: Mutex::new(NetState {
                    reliable: true,
                    long_delays: false,
                    long_reordering: false,
                    ends: NameMap::default(),
                    servers: NameMap::default(),
                }),
                total_count: AtomicU64::new(0),
                total_bytes: AtomicU64::new(0),
                closed: AtomicBool::new(false),
                next_end: AtomicU64::new(0),
                observer: OnceLock::new(),
                next_call: AtomicU64::new(0),
                methods: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Installs `observer`, which from now on hears of every call's life (see
    /// [`observe`](crate::observe)). A network has at most one observer.
    ///
    /// # Errors
    /// [`ObserverInstalled`] when the network already has one.
    pub fn set_observer(&self, observer: Arc<dyn Observer>) -> Result<(), ObserverInstalled> {
        self.inner
            .observer
            .set(observer)
            .map_err(|_| ObserverInstalled)
    }

    /// Shuts the network: every later call fails at once with [`RpcError::NetworkClosed`].
    ///
    /// It also lets go of every server. A server's handlers usually hold their peer, and the
    /// peer holds ends of this network: without this the network, its servers and its peers
    /// would keep each other alive after the test (Go's collector frees such cycles; `Arc` does
    /// not), and a process that runs many tests would grow by a whole cluster per test.
    pub fn cleanup(&self) {
        self.inner.closed.store(true, Ordering::Release);
        let servers = std::mem::take(&mut self.inner.state.lock().servers);
        // Dropped outside the lock: a peer's drop may reach this network again.
        drop(servers);
    }

    /// Turns drops and short delays off (`true`) or on (`false`).
    pub fn set_reliable(&self, reliable: bool) {
        self.inner.state.lock().reliable = reliable;
    }

    /// Whether the network is reliable.
    pub fn is_reliable(&self) -> bool {
        self.inner.state.lock().reliable
    }

    /// Turns long delays for calls that cannot be delivered on or off.
    pub fn set_long_delays(&self, on: bool) {
        self.inner.state.lock().long_delays = on;
    }

    /// Whether long delays are on.
    pub fn is_long_delays(&self) -> bool {
        self.inner.state.lock().long_delays
    }

    /// Turns long reordering of replies on or off.
    pub fn set_long_reordering(&self, on: bool) {
        self.inner.state.lock().long_reordering = on;
    }

    /// Whether long reordering is on.
    pub fn is_long_reordering(&self) -> bool {
        self.inner.state.lock().long_reordering
    }

    /// Creates an end called `name`, disabled and unconnected.
    pub fn make_end(&self, name: impl Into<String>) -> Result<ClientEnd, NetworkError> {
        let name = name.into();
        let mut st = self.inner.state.lock();
        if st.ends.contains_key(&name) {
            return Err(NetworkError::DuplicateEnd(name));
        }
        let id = self.inner.next_end.fetch_add(1, Ordering::Relaxed);
        st.ends.insert(
            name.clone(),
            EndState {
                id,
                enabled: false,
                server: None,
            },
        );
        Ok(ClientEnd {
            name: name.into(),
            id,
            net: self.clone(),
        })
    }

    /// Removes an end; later calls on it fail with [`RpcError::EndDeleted`].
    pub fn delete_end(&self, name: &str) -> Result<(), NetworkError> {
        self.inner
            .state
            .lock()
            .ends
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| NetworkError::UnknownEnd(name.to_string()))
    }

    /// Adds a server under `name`, replacing any server of that name (calls in flight to the
    /// old one then fail).
    pub fn add_server(&self, name: impl Into<String>, server: Server) {
        self.inner
            .state
            .lock()
            .servers
            .insert(name.into(), Some(server));
    }

    /// Deletes a server: calls in flight to it fail within [`DEAD_SERVER_POLL`], and it never
    /// delivers another reply.
    pub fn delete_server(&self, name: &str) {
        if let Some(slot) = self.inner.state.lock().servers.get_mut(name) {
            *slot = None;
        }
    }

    /// Connects end `end` to server `server` (which need not exist yet).
    pub fn connect(&self, end: &str, server: impl Into<String>) -> Result<(), NetworkError> {
        let mut st = self.inner.state.lock();
        let e = st
            .ends
            .get_mut(end)
            .ok_or_else(|| NetworkError::UnknownEnd(end.to_string()))?;
        e.server = Some(Arc::from(server.into()));
        Ok(())
    }

    /// Enables or disables end `end`.
    pub fn enable(&self, end: &str, enabled: bool) -> Result<(), NetworkError> {
        let mut st = self.inner.state.lock();
        let e = st
            .ends
            .get_mut(end)
            .ok_or_else(|| NetworkError::UnknownEnd(end.to_string()))?;
        e.enabled = enabled;
        Ok(())
    }

    /// Requests delivered to server `name`'s handlers (0 for a deleted or unknown server).
    pub fn count(&self, name: &str) -> u64 {
        self.inner
            .state
            .lock()
            .servers
            .get(name)
            .and_then(|s| s.as_ref().map(Server::count))
            .unwrap_or(0)
    }

    /// Calls sent, counted at send, including calls that could not be delivered.
    pub fn total_count(&self) -> u64 {
        self.inner.total_count.load(Ordering::Relaxed)
    }

    /// Bytes of every request sent plus every reply delivered.
    pub fn total_bytes(&self) -> u64 {
        self.inner.total_bytes.load(Ordering::Relaxed)
    }

    /// `method` as a shared name, and its trace hash.
    fn method(&self, method: &str) -> (Arc<str>, u64) {
        let mut methods = self.inner.methods.lock();
        if let Some((name, hash)) = methods.iter().find(|(name, _)| &**name == method) {
            return (name.clone(), *hash);
        }
        let entry: (Arc<str>, u64) = (method.into(), runtime::hash_str(method));
        if methods.len() < MAX_INTERNED_METHODS {
            methods.push(entry.clone());
        }
        entry
    }

    /// Whether the handler's server is gone: the end disabled, or the server deleted or replaced.
    fn server_dead(&self, end: &str, server_name: &str, server: &Arc<ServerInner>) -> bool {
        let st = self.inner.state.lock();
        let enabled = st.ends.get(end).is_some_and(|e| e.enabled);
        let same =
            matches!(st.servers.get(server_name), Some(Some(s)) if Arc::ptr_eq(&s.inner, server));
        !enabled || !same
    }
}

/// One end of a one-way connection from a client to a server. Cheap to clone; many calls may
/// be in flight on one end at once, and they may be answered out of order.
#[derive(Clone)]
pub struct ClientEnd {
    name: Arc<str>,
    id: u64,
    net: Network,
}

impl std::fmt::Debug for ClientEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientEnd")
            .field("name", &self.name)
            .finish()
    }
}

/// What the network decided when the call was sent.
enum Route {
    Deliver {
        server_name: Arc<str>,
        server: Server,
        reliable: bool,
        long_reordering: bool,
    },
    Fail {
        error: RpcError,
        long_delays: bool,
    },
}

impl ClientEnd {
    /// The end's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A number that tells this end from every other end made on its network, even one made
    /// later under the same name (observers see it in [`RpcEvent::end`](crate::observe::RpcEvent)).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Calls `method` (`"Service.Method"`) with `args` and waits for the reply, which decodes as
    /// `R`. Always finishes, unless the handler itself never returns while the server stays up.
    ///
    /// # Errors
    /// Every way a call can fail is an [`RpcError`]; see its variants.
    pub fn call<A, R>(
        &self,
        method: &str,
        args: &A,
    ) -> impl std::future::Future<Output = Result<R, RpcError>> + Send + 'static
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    {
        let encoded = codec::encode(args).map_err(|e| RpcError::EncodeArgs {
            name: method.to_string(),
            detail: e.to_string(),
        });
        let end = self.clone();
        let (name, method_hash) = self.net.method(method);
        let args_type = std::any::type_name::<A>();
        async move {
            let args = encoded?;
            end.call_bytes(name, method_hash, args, args_type)
                .await
                .and_then(|reply| {
                    let expected = std::any::type_name::<R>();
                    let bad_reply = |detail: String| RpcError::BadReply {
                        name: reply.name.to_string(),
                        sent: reply.type_name.to_string(),
                        expected: expected.to_string(),
                        detail,
                    };
                    match codec::decode::<R>(&reply.bytes) {
                        Err(e) => Err(bad_reply(e.to_string())),
                        // Bytes of another type may decode, into a wrong value.
                        Ok(_) if !codec::same_wire_type(reply.type_name, expected) => {
                            Err(bad_reply(codec::UNRECORDED_TYPES.to_string()))
                        }
                        Ok(value) => Ok(value),
                    }
                })
        }
    }

    fn route(&self) -> Route {
        let st = self.net.inner.state.lock();
        let fail = |error| Route::Fail {
            error,
            long_delays: st.long_delays,
        };
        // An end of the same name made after this one was deleted is another end.
        let Some(end) = st.ends.get(&*self.name).filter(|e| e.id == self.id) else {
            return fail(RpcError::EndDeleted {
                end: self.name.to_string(),
            });
        };
        let Some(server_name) = &end.server else {
            return fail(RpcError::EndNotConnected {
                end: self.name.to_string(),
            });
        };
        if !end.enabled {
            return fail(RpcError::EndDisabled {
                end: self.name.to_string(),
            });
        }
        match st.servers.get(&**server_name) {
            // Killing a node drops its handlers for good: like a deleted server (the original
            // tester always deletes a crashed peer's server), the call is not delivered.
            Some(Some(server)) if runtime::is_killed(server.node()) => {
                fail(RpcError::ServerNodeKilled {
                    server: server_name.to_string(),
                })
            }
            Some(Some(server)) => Route::Deliver {
                server_name: server_name.clone(),
                server: server.clone(),
                reliable: st.reliable,
                long_reordering: st.long_reordering,
            },
            _ => fail(RpcError::NoServer {
                server: server_name.to_string(),
            }),
        }
    }

    async fn call_bytes(
        &self,
        name: Arc<str>,
        method_hash: u64,
        args: Vec<u8>,
        args_type: &'static str,
    ) -> Result<DeliveredReply, RpcError> {
        let inner = &self.net.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Err(RpcError::NetworkClosed);
        }
        inner.total_count.fetch_add(1, Ordering::Relaxed);
        inner
            .total_bytes
            .fetch_add(args.len() as u64, Ordering::Relaxed);
        // The delivery is boxed: its state (routing, faults, the handler's task, the
        // time-outs) is large, and without the box it would be part of every future that
        // makes a call, copied whole each time such a future is moved (into a task, say).
        let Some(observer) = inner.observer.get() else {
            return Box::pin(self.deliver(name, method_hash, args, args_type, None)).await;
        };
        let call = inner.next_call.fetch_add(1, Ordering::Relaxed);
        let watch = Watch::sent(observer, call, self.id, &name, &args);
        let result =
            Box::pin(self.deliver(name, method_hash, args, args_type, Some(watch.clone()))).await;
        watch.finished(result.as_ref().map(|r| &r.bytes[..]));
        result
    }

    /// Routes the call, applies the faults, runs the handler and brings its reply back; the
    /// `watch`, if the network is observed, hears when the handler produced a reply.
    async fn deliver(
        &self,
        name: Arc<str>,
        method_hash: u64,
        args: Vec<u8>,
        args_type: &'static str,
        watch: Option<Watch>,
    ) -> Result<DeliveredReply, RpcError> {
        let inner = &self.net.inner;
        trace_event("rpc.send", self.id, method_hash);

        let (server_name, server, reliable, long_reordering) = match self.route() {
            Route::Deliver {
                server_name,
                server,
                reliable,
                long_reordering,
            } => (server_name, server, reliable, long_reordering),
            Route::Fail { error, long_delays } => {
                let most = if long_delays {
                    LONG_DELAY_MS
                } else {
                    SHORT_DEAD_DELAY_MS
                };
                runtime::sleep(Duration::from_millis(runtime::random_range(0..most))).await;
                trace_event("rpc.undeliverable", self.id, method_hash);
                return Err(error);
            }
        };

        if !reliable {
            runtime::sleep(Duration::from_millis(runtime::random_range(
                0..SHORT_DELAY_MS,
            )))
            .await;
            if runtime::random_range(0..1000) < REQUEST_DROP_PER_MILLE {
                trace_event("rpc.drop_request", self.id, method_hash);
                return Err(RpcError::RequestDropped {
                    name: name.to_string(),
                });
            }
        }

        // Deliver: the handler runs as a task of the server's node.
        let handler = server.dispatch(&name)?;
        trace_event("rpc.deliver", self.id, method_hash);
        let request = Request {
            name: name.clone(),
            args,
            args_type,
        };
        let handling = handler(request);
        let node = server.node();
        let mut running = runtime::spawn_on(node, async move {
            let result = handling.await;
            if let (Some(watch), Ok(reply)) = (&watch, &result) {
                watch.handled(node, &reply.bytes);
            }
            result
        });
        let died = || RpcError::ServerDied {
            server: server_name.to_string(),
            name: name.to_string(),
        };
        let result = loop {
            match runtime::timeout_unpin(DEAD_SERVER_POLL, &mut running).await {
                Ok(Ok(result)) => break result,
                Ok(Err(JoinError::Killed)) => {
                    trace_event("rpc.killed", self.id, method_hash);
                    return Err(RpcError::ServerKilled {
                        server: server_name.to_string(),
                        name: name.to_string(),
                    });
                }
                Err(_) => {
                    if self
                        .net
                        .server_dead(&self.name, &server_name, &server.inner)
                    {
                        trace_event("rpc.dead", self.id, method_hash);
                        return Err(died());
                    }
                }
            }
        };
        // A server that died while its handler ran never delivers a positive reply.
        if self
            .net
            .server_dead(&self.name, &server_name, &server.inner)
        {
            trace_event("rpc.dead", self.id, method_hash);
            return Err(died());
        }
        let reply = result?;
        if !reliable && runtime::random_range(0..1000) < REPLY_DROP_PER_MILLE {
            trace_event("rpc.drop_reply", self.id, method_hash);
            return Err(RpcError::ReplyDropped {
                name: name.to_string(),
            });
        }
        if long_reordering && runtime::random_range(0..REORDER_OUT_OF) < REORDER_CHANCE {
            let spread = runtime::random_range(0..REORDER_SPREAD_MS);
            let delay = REORDER_BASE_MS + runtime::random_range(0..1 + spread);
            trace_event("rpc.reorder", self.id, delay);
            runtime::sleep(Duration::from_millis(delay)).await;
        }
        inner
            .total_bytes
            .fetch_add(reply.bytes.len() as u64, Ordering::Relaxed);
        trace_event("rpc.reply", self.id, method_hash);
        Ok(DeliveredReply {
            name,
            bytes: reply.bytes,
            type_name: reply.type_name,
        })
    }
}

struct DeliveredReply {
    name: Arc<str>,
    bytes: Vec<u8>,
    type_name: &'static str,
}
