//! Servers and services: handlers registered under method names.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use parking_lot::RwLock;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec;
use crate::error::{NetworkError, RpcError};
use crate::runtime::{self, NodeId};

/// An encoded reply and the name of its type.
pub(crate) struct Reply {
    pub(crate) bytes: Vec<u8>,
    pub(crate) type_name: &'static str,
}

/// The request as a handler sees it.
pub(crate) struct Request {
    pub(crate) name: Arc<str>,
    pub(crate) args: Vec<u8>,
    pub(crate) args_type: &'static str,
}

type Handler = Arc<dyn Fn(Request) -> BoxFuture<'static, Result<Reply, RpcError>> + Send + Sync>;

/// A named group of handlers, such as `"Raft"` with `"RequestVote"` and `"AppendEntries"`.
///
/// ```
/// use labrpc::Service;
///
/// let mut echo = Service::new("Echo").expect("a good name");
/// echo.handle("Shout", |s: String| s.to_uppercase()).expect("a new method");
/// echo.handle_async("Len", |s: String| async move { s.len() as u64 }).expect("a new method");
/// assert_eq!(echo.methods(), vec!["Echo.Len".to_string(), "Echo.Shout".to_string()]);
/// ```
#[derive(Clone)]
pub struct Service {
    name: String,
    methods: BTreeMap<String, Handler>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.name)
            .field("methods", &self.methods.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn check_name(name: &str) -> Result<(), NetworkError> {
    let why = if name.is_empty() {
        "names must not be empty"
    } else if name.contains('.') {
        "a dot separates service from method, so names must not contain one"
    } else {
        return Ok(());
    };
    Err(NetworkError::BadName {
        name: name.to_string(),
        why,
    })
}

impl Service {
    /// An empty service called `name` (no dots allowed).
    pub fn new(name: impl Into<String>) -> Result<Self, NetworkError> {
        let name = name.into();
        check_name(&name)?;
        Ok(Service {
            name,
            methods: BTreeMap::new(),
        })
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full names (`"Service.Method"`) of the registered methods, sorted.
    pub fn methods(&self) -> Vec<String> {
        self.methods
            .keys()
            .map(|m| format!("{}.{m}", self.name))
            .collect()
    }

    /// Registers a plain-function handler for `method`.
    pub fn handle<A, R, F>(&mut self, method: &str, f: F) -> Result<&mut Self, NetworkError>
    where
        A: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.handle_async(method, move |args: A| {
            let f = f.clone();
            async move { f(args) }
        })
    }

    /// Registers an async handler for `method`. The handler runs as a task of the server's
    /// node, so it dies with the server.
    pub fn handle_async<A, R, F, Fut>(
        &mut self,
        method: &str,
        f: F,
    ) -> Result<&mut Self, NetworkError>
    where
        A: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
    {
        check_name(method)?;
        if self.methods.contains_key(method) {
            return Err(NetworkError::DuplicateMethod {
                service: self.name.clone(),
                method: method.to_string(),
            });
        }
        let f = Arc::new(f);
        let handler: Handler = Arc::new(move |req: Request| {
            let expected = std::any::type_name::<A>();
            let bad_args = |detail: String| RpcError::BadArgs {
                name: req.name.to_string(),
                sent: req.args_type.to_string(),
                expected: expected.to_string(),
                detail,
            };
            let args = match codec::decode::<A>(&req.args) {
                Err(e) => Err(bad_args(e.to_string())),
                // The format records no types, so bytes of another type may decode, into a
                // wrong value: the caller's type name says what they are.
                Ok(_) if !codec::same_wire_type(req.args_type, expected) => {
                    Err(bad_args(codec::UNRECORDED_TYPES.to_string()))
                }
                Ok(args) => Ok(args),
            };
            let f = f.clone();
            let name = req.name.clone();
            async move {
                let args = args?;
                let call = AssertUnwindSafe(async move { f(args).await }).catch_unwind();
                let reply = call.await.map_err(|payload| RpcError::HandlerPanicked {
                    name: name.to_string(),
                    message: crate::runtime::panic_message(&*payload),
                })?;
                let bytes = codec::encode(&reply).map_err(|e| RpcError::HandlerPanicked {
                    name: name.to_string(),
                    message: format!("its reply could not be encoded: {e}"),
                })?;
                Ok(Reply {
                    bytes,
                    type_name: std::any::type_name::<R>(),
                })
            }
            .boxed()
        });
        self.methods.insert(method.to_string(), handler);
        Ok(self)
    }
}

pub(crate) struct ServerInner {
    services: RwLock<BTreeMap<String, Service>>,
    count: AtomicU64,
    node: NodeId,
}

/// A server: a set of services, reached through the network under a server name. Its handlers
/// run as tasks of its node, so killing the node stops them, and later calls to a server of a
/// killed node are not delivered (they fail as calls to a deleted server do).
///
/// ```
/// use labrpc::{Server, Service};
///
/// let mut svc = Service::new("Raft").expect("a good name");
/// svc.handle("RequestVote", |term: u64| term + 1).expect("a new method");
/// let server = Server::new();
/// server.add_service(svc).expect("a new service");
/// assert!(server.add_service(Service::new("Raft").expect("a good name")).is_err());
/// ```
#[derive(Clone)]
pub struct Server {
    pub(crate) inner: Arc<ServerInner>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("node", &self.inner.node)
            .field(
                "services",
                &self.inner.services.read().keys().collect::<Vec<_>>(),
            )
            .field("count", &self.count())
            .finish()
    }
}

impl Default for Server {
    fn default() -> Self {
        Server::new()
    }
}

impl Server {
    /// A server whose handlers run on the current node (the root node outside a runtime).
    pub fn new() -> Self {
        let node = if runtime::in_runtime() {
            runtime::current_node()
        } else {
            NodeId::ROOT
        };
        Server::on_node(node)
    }

    /// A server whose handlers run on `node`.
    pub fn on_node(node: NodeId) -> Self {
        Server {
            inner: Arc::new(ServerInner {
                services: RwLock::new(BTreeMap::new()),
                count: AtomicU64::new(0),
                node,
            }),
        }
    }

    /// Adds a service; a second service with the same name is refused.
    pub fn add_service(&self, service: Service) -> Result<(), NetworkError> {
        let mut services = self.inner.services.write();
        if services.contains_key(&service.name) {
            return Err(NetworkError::DuplicateService(service.name));
        }
        services.insert(service.name.clone(), service);
        Ok(())
    }

    /// Requests delivered to this server's handlers so far (not counting dropped requests).
    pub fn count(&self) -> u64 {
        self.inner.count.load(Ordering::Relaxed)
    }

    /// The node the handlers run on.
    pub fn node(&self) -> NodeId {
        self.inner.node
    }

    /// Counts the request and finds its handler, or says what is missing.
    pub(crate) fn dispatch(&self, name: &str) -> Result<Handler, RpcError> {
        self.inner.count.fetch_add(1, Ordering::Relaxed);
        let Some((service, method)) = name.rsplit_once('.') else {
            return Err(RpcError::BadMethodName {
                name: name.to_string(),
            });
        };
        let services = self.inner.services.read();
        let Some(svc) = services.get(service) else {
            return Err(RpcError::UnknownService {
                service: service.to_string(),
                name: name.to_string(),
                known: services.keys().cloned().collect(),
            });
        };
        svc.methods
            .get(method)
            .cloned()
            .ok_or_else(|| RpcError::UnknownMethod {
                method: method.to_string(),
                service: service.to_string(),
                name: name.to_string(),
                known: svc.methods(),
            })
    }
}
