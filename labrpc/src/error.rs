//! Errors of the network: what a call can end with, and what setting up the network can refuse.

/// Why a call got no reply. Raft treats every variant as "no reply", but each says what
/// happened, and the programming errors say what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// The network was cleaned up; calls fail at once.
    #[error("the network was cleaned up; no more calls can be made")]
    NetworkClosed,
    /// The method name has no dot, so it names no service.
    #[error("bad method name {name:?}: a call names \"Service.Method\", for example \"Raft.AppendEntries\"")]
    BadMethodName {
        /// The name that was called.
        name: String,
    },
    /// No service of that name on the server.
    #[error("unknown service {service:?} in {name:?}; the server has: {known}", known = list(known))]
    UnknownService {
        /// The service part of the name.
        service: String,
        /// The full name that was called.
        name: String,
        /// The services the server has.
        known: Vec<String>,
    },
    /// The service has no method of that name (check the spelling).
    #[error("unknown method {method:?} in {name:?}; service {service:?} has: {known}", known = list(known))]
    UnknownMethod {
        /// The method part of the name.
        method: String,
        /// The service.
        service: String,
        /// The full name that was called.
        name: String,
        /// The methods the service has, as full names.
        known: Vec<String>,
    },
    /// The arguments could not be encoded.
    #[error("cannot encode the arguments of {name}: {detail}")]
    EncodeArgs {
        /// The method called.
        name: String,
        /// Why.
        detail: String,
    },
    /// The arguments do not decode as the handler's argument type.
    #[error(
        "the arguments of {name} were sent as a {sent} but the handler takes a {expected}; \
         call it with the handler's argument type ({detail})"
    )]
    BadArgs {
        /// The method called.
        name: String,
        /// The caller's argument type.
        sent: String,
        /// The handler's argument type.
        expected: String,
        /// The decoder's explanation.
        detail: String,
    },
    /// The reply does not decode as the type the caller asked for.
    #[error(
        "the reply of {name} is a {sent} but the caller asked for a {expected}; use the \
         handler's reply type ({detail})"
    )]
    BadReply {
        /// The method called.
        name: String,
        /// The handler's reply type.
        sent: String,
        /// The type the caller asked for.
        expected: String,
        /// The decoder's explanation.
        detail: String,
    },
    /// The handler panicked. The network and other calls go on.
    #[error("the handler of {name} panicked: {message}")]
    HandlerPanicked {
        /// The method called.
        name: String,
        /// The panic message.
        message: String,
    },
    /// The end exists but is disabled (its peer is disconnected).
    #[error("end {end:?} is disabled (disconnected); the call failed after a delay")]
    EndDisabled {
        /// The end.
        end: String,
    },
    /// The end was never connected to a server.
    #[error("end {end:?} is not connected to any server; the call failed after a delay")]
    EndNotConnected {
        /// The end.
        end: String,
    },
    /// The end was deleted from the network.
    #[error("end {end:?} was deleted from the network")]
    EndDeleted {
        /// The end.
        end: String,
    },
    /// The end's server does not exist (deleted, or never added).
    #[error(
        "server {server:?} does not exist (deleted or never added); the call failed after a delay"
    )]
    NoServer {
        /// The server.
        server: String,
    },
    /// The end's server is still registered, but its node was killed (a crashed peer whose
    /// server was not deleted): nothing can handle the call. As for a deleted server, the call
    /// is not delivered (the server's count does not move) and fails after the dead-end delay.
    #[error(
        "server {server:?} runs on a killed node (its peer crashed); the call was not delivered \
         and failed after a delay"
    )]
    ServerNodeKilled {
        /// The server.
        server: String,
    },
    /// While the handler ran, its server was deleted or replaced, or the end was disabled.
    #[error("server {server:?} was deleted, replaced or cut off while it handled {name}; its reply is discarded")]
    ServerDied {
        /// The server.
        server: String,
        /// The method called.
        name: String,
    },
    /// The server's node was killed while the handler ran, so the handler never finished.
    #[error("server {server:?} was killed while it handled {name}")]
    ServerKilled {
        /// The server.
        server: String,
        /// The method called.
        name: String,
    },
    /// The unreliable network dropped the request; the handler never ran.
    #[error("the unreliable network dropped the request of {name}; the handler never ran")]
    RequestDropped {
        /// The method called.
        name: String,
    },
    /// The unreliable network dropped the reply; the handler did run.
    #[error("the unreliable network dropped the reply of {name}; the handler did run")]
    ReplyDropped {
        /// The method called.
        name: String,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "nothing registered".to_string()
    } else {
        names.join(", ")
    }
}

impl RpcError {
    /// Whether the error is a mistake in the calling or serving code (a misspelt name, wrong
    /// types, a panicking handler), rather than a fault of the network.
    pub fn is_programming_error(&self) -> bool {
        matches!(
            self,
            RpcError::BadMethodName { .. }
                | RpcError::UnknownService { .. }
                | RpcError::UnknownMethod { .. }
                | RpcError::EncodeArgs { .. }
                | RpcError::BadArgs { .. }
                | RpcError::BadReply { .. }
                | RpcError::HandlerPanicked { .. }
        )
    }
}

/// A refused change to the network's set-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    /// `make_end` with a name already in use.
    #[error("an end named {0:?} already exists; end names must be unique")]
    DuplicateEnd(String),
    /// The end does not exist.
    #[error("no end named {0:?}")]
    UnknownEnd(String),
    /// A server already has a service of this name.
    #[error("the server already has a service named {0:?}")]
    DuplicateService(String),
    /// A service already has a method of this name.
    #[error("service {service:?} already has a method named {method:?}")]
    DuplicateMethod {
        /// The service.
        service: String,
        /// The method.
        method: String,
    },
    /// A service or method name that cannot be routed.
    #[error("bad name {name:?}: {why}")]
    BadName {
        /// The name.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
}
