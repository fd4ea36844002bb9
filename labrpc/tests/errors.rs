//! Every error a call or a set-up step can end with: each is its own variant, and the
//! programming errors say what to fix.

mod common;

use common::*;
use labrpc::runtime::{self, NodeId};
use labrpc::{Network, NetworkError, RpcError, Server, Service};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AppendEntriesArgs {
    term: u64,
    leader: u64,
    entries: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AppendEntriesReply {
    term: u64,
    success: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RequestVoteReply {
    term: u64,
    granted: bool,
    note: String,
}

/// A server with a "Raft" service whose method names are the lab's, on the current node.
fn raft_network() -> (Network, labrpc::ClientEnd) {
    let mut raft = Service::new("Raft").expect("a good name");
    raft.handle("AppendEntries", |a: AppendEntriesArgs| AppendEntriesReply {
        term: a.term,
        success: a.entries.is_empty() || a.leader < 100,
    })
    .expect("a new method")
    .handle("RequestVote", |term: u64| term)
    .expect("a new method")
    .handle("Explode", |msg: String| -> u64 {
        panic!("handler exploded: {msg}");
    })
    .expect("a new method");
    let server = Server::new();
    server.add_service(raft).expect("a new service");
    let mut kv = Service::new("KV").expect("a good name");
    kv.handle("Get", |k: String| k).expect("a new method");
    server.add_service(kv).expect("a new service");
    let net = Network::new();
    net.add_server("peer0", server);
    let end = connected_end(&net, "peer1->peer0", "peer0");
    (net, end)
}

fn heartbeat() -> AppendEntriesArgs {
    AppendEntriesArgs {
        term: 3,
        leader: 1,
        entries: vec![],
    }
}

#[test]
fn unknown_method_lists_the_methods_of_the_service() {
    on_both("unknown_method", 21, || async {
        let (net, end) = raft_network();
        let err = end
            .call::<_, AppendEntriesReply>("Raft.AppendEntires", &heartbeat())
            .await
            .expect_err("a misspelt method cannot be called");
        assert_eq!(
            err,
            RpcError::UnknownMethod {
                method: "AppendEntires".into(),
                service: "Raft".into(),
                name: "Raft.AppendEntires".into(),
                known: vec![
                    "Raft.AppendEntries".into(),
                    "Raft.Explode".into(),
                    "Raft.RequestVote".into()
                ],
            }
        );
        let message = err.to_string();
        assert!(
            message.contains("AppendEntires") && message.contains("Raft.AppendEntries"),
            "the message should name the typo and the right name: {message}"
        );
        assert!(err.is_programming_error());
        // The request reached the server (and is counted there, as in the original).
        assert_eq!(net.count("peer0"), 1);
    });
}

#[test]
fn unknown_service_lists_the_services_of_the_server() {
    on_both("unknown_service", 22, || async {
        let (_net, end) = raft_network();
        let err = end
            .call::<_, AppendEntriesReply>("Rafft.AppendEntries", &heartbeat())
            .await
            .expect_err("a misspelt service cannot be called");
        assert_eq!(
            err,
            RpcError::UnknownService {
                service: "Rafft".into(),
                name: "Rafft.AppendEntries".into(),
                known: vec!["KV".into(), "Raft".into()],
            }
        );
        let message = err.to_string();
        assert!(
            message.contains("Rafft") && message.contains("KV, Raft"),
            "the message should name the typo and the services: {message}"
        );
        assert!(err.is_programming_error());
    });
}

#[test]
fn a_server_without_services_says_so() {
    on_both("no_services", 23, || async {
        let net = Network::new();
        net.add_server("empty", Server::new());
        let end = connected_end(&net, "e", "empty");
        let err = end
            .call::<_, u64>("Raft.RequestVote", &1u64)
            .await
            .expect_err("there is no service");
        assert!(matches!(err, RpcError::UnknownService { .. }), "{err}");
        assert!(
            err.to_string().contains("nothing registered"),
            "{err}: the message should say the server has no services"
        );
    });
}

#[test]
fn a_method_name_without_a_dot_is_a_bad_method_name() {
    on_both("bad_method_name", 24, || async {
        let (_net, end) = raft_network();
        let err = end
            .call::<_, AppendEntriesReply>("AppendEntries", &heartbeat())
            .await
            .expect_err("a name without a service cannot be routed");
        assert_eq!(
            err,
            RpcError::BadMethodName {
                name: "AppendEntries".into()
            }
        );
        assert!(
            err.to_string().contains("\"Raft.AppendEntries\""),
            "the message should show the expected shape: {err}"
        );
        assert!(err.is_programming_error());
    });
}

#[test]
fn arguments_of_the_wrong_type_are_bad_args_naming_both_types() {
    on_both("bad_args", 25, || async {
        let (_net, end) = raft_network();
        let err = end
            .call::<_, AppendEntriesReply>("Raft.AppendEntries", "not the args")
            .await
            .expect_err("a string does not decode as AppendEntriesArgs");
        let RpcError::BadArgs {
            name,
            sent,
            expected,
            ..
        } = &err
        else {
            panic!("expected BadArgs, got {err:?}");
        };
        assert_eq!(name, "Raft.AppendEntries");
        assert_eq!(sent, "str");
        assert!(expected.ends_with("AppendEntriesArgs"), "{expected}");
        let message = err.to_string();
        assert!(
            message.contains("str") && message.contains("AppendEntriesArgs"),
            "the message should name both types: {message}"
        );
        assert!(err.is_programming_error());
    });
}

#[test]
fn arguments_of_another_type_that_happen_to_decode_are_bad_args_naming_both_types() {
    // postcard records no types: an i64 of 5 decodes as a u64 of 10. The caller's type name
    // travels with the call and is compared with the handler's.
    on_both("bad_args_that_decode", 35, || async {
        let (_net, end, log) = junk_network("s", "e");
        let err = end
            .call::<_, String>("JunkServer.Handler2", &5i64)
            .await
            .expect_err("Handler2 takes a u64, not an i64");
        let RpcError::BadArgs {
            name,
            sent,
            expected,
            detail,
        } = &err
        else {
            panic!("expected BadArgs, got {err:?}");
        };
        assert_eq!(name, "JunkServer.Handler2");
        assert_eq!((sent.as_str(), expected.as_str()), ("i64", "u64"));
        assert!(detail.contains("records no types"), "{detail}");
        let message = err.to_string();
        assert!(
            message.contains("sent as a i64 but the handler takes a u64"),
            "{message}"
        );
        assert!(err.is_programming_error());
        assert!(log.log2.lock().is_empty(), "the handler must not run");

        // A struct of the same shape as the handler's is another type too.
        #[derive(Serialize)]
        struct LookAlike {
            x: i64,
        }
        let err = end
            .call::<_, JunkReply>("JunkServer.Handler4", &LookAlike { x: 1 })
            .await
            .expect_err("Handler4 takes a JunkArgs");
        assert!(
            matches!(&err, RpcError::BadArgs { sent, expected, .. }
                if sent.ends_with("LookAlike") && expected.ends_with("JunkArgs")),
            "{err:?}"
        );
    });
}

#[test]
fn a_reply_of_another_type_that_happens_to_decode_is_bad_reply_naming_both_types() {
    on_both("bad_reply_that_decodes", 36, || async {
        let (_net, end, _log) = junk_network("s", "e");
        // Handler6 replies with a u64; read as an i64 the length 5 would be -3.
        let err = end
            .call::<_, i64>("JunkServer.Handler6", &"hello".to_string())
            .await
            .expect_err("Handler6 replies with a u64, not an i64");
        let RpcError::BadReply {
            name,
            sent,
            expected,
            detail,
        } = &err
        else {
            panic!("expected BadReply, got {err:?}");
        };
        assert_eq!(name, "JunkServer.Handler6");
        assert_eq!((sent.as_str(), expected.as_str()), ("u64", "i64"));
        assert!(detail.contains("records no types"), "{detail}");
        assert!(
            err.to_string().contains(
                "the reply of JunkServer.Handler6 is a u64 but the caller asked for a i64"
            ),
            "{err}"
        );
        assert!(err.is_programming_error());
    });
}

#[test]
fn types_that_are_written_alike_pass_the_type_check() {
    on_sim("types_written_alike", 37, || async {
        let (net, end, _log) = junk_network("s", "e");
        // A str for a String, a reference for its target, a slice for a Vec.
        let n: u64 = end
            .call::<str, _>("JunkServer.Handler6", "four")
            .await
            .expect("a str is sent as a String is");
        assert_eq!(n, 4);
        let n: u64 = end
            .call::<&String, _>("JunkServer.Handler6", &&"five!".to_string())
            .await
            .expect("a &String is sent as a String is");
        assert_eq!(n, 5);
        let mut svc = Service::new("Sum").expect("a good name");
        svc.handle("Of", |xs: Vec<u64>| xs.iter().sum::<u64>())
            .expect("a new method");
        let server = Server::new();
        server.add_service(svc).expect("a new service");
        net.add_server("sum", server);
        let to_sum = connected_end(&net, "to-sum", "sum");
        let total: u64 = to_sum
            .call::<[u64], _>("Sum.Of", &[1, 2, 3][..])
            .await
            .expect("a slice is sent as a Vec is");
        assert_eq!(total, 6);
    });
}

#[test]
fn a_reply_of_the_wrong_type_is_bad_reply_naming_both_types() {
    on_both("bad_reply", 26, || async {
        let (net, end) = raft_network();
        // The handler replies with AppendEntriesReply (2 fields); the caller asks for a
        // RequestVoteReply (3 fields), which runs out of bytes.
        let err = end
            .call::<_, RequestVoteReply>("Raft.AppendEntries", &heartbeat())
            .await
            .expect_err("an AppendEntriesReply does not decode as a RequestVoteReply");
        let RpcError::BadReply { sent, expected, .. } = &err else {
            panic!("expected BadReply, got {err:?}");
        };
        assert!(sent.ends_with("AppendEntriesReply"), "{sent}");
        assert!(expected.ends_with("RequestVoteReply"), "{expected}");
        let message = err.to_string();
        assert!(
            message.contains("AppendEntriesReply") && message.contains("RequestVoteReply"),
            "the message should name both types: {message}"
        );
        assert!(err.is_programming_error());
        // The reply was delivered (and counted) before the caller failed to decode it.
        assert_eq!(net.count("peer0"), 1);
    });
}

/// A value whose serialization always fails.
struct Unencodable;

impl Serialize for Unencodable {
    fn serialize<S: serde::Serializer>(&self, _s: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "this value refuses to be encoded",
        ))
    }
}

#[test]
fn arguments_that_cannot_be_encoded_fail_before_sending() {
    on_both("encode_args", 27, || async {
        let (net, end) = raft_network();
        let err = end
            .call::<_, u64>("Raft.RequestVote", &Unencodable)
            .await
            .expect_err("the arguments cannot be encoded");
        let RpcError::EncodeArgs { name, detail } = &err else {
            panic!("expected EncodeArgs, got {err:?}");
        };
        assert_eq!(name, "Raft.RequestVote");
        // postcard drops the serializer's own message, but the type is named.
        assert!(detail.contains("Unencodable"), "{detail}");
        assert!(err.is_programming_error());
        assert_eq!(net.total_count(), 0, "nothing was sent");
    });
}

#[test]
fn a_panicking_handler_is_an_error_and_the_network_goes_on() {
    on_both("handler_panic", 28, || async {
        let (_net, end) = raft_network();
        let err = end
            .call::<_, u64>("Raft.Explode", "on purpose")
            .await
            .expect_err("the handler panics");
        assert_eq!(
            err,
            RpcError::HandlerPanicked {
                name: "Raft.Explode".into(),
                message: "handler exploded: on purpose".into()
            }
        );
        assert!(err.is_programming_error());
        // The server and the network survive.
        let term: u64 = end
            .call("Raft.RequestVote", &8u64)
            .await
            .expect("later calls work");
        assert_eq!(term, 8);
    });
}

#[test]
fn undeliverable_calls_say_why() {
    on_both("undeliverable", 29, || async {
        let net = Network::new();
        let (server, _log) = junk_server();
        net.add_server("s", server);

        let unconnected = net.make_end("unconnected").expect("a new end");
        let err = unconnected
            .call::<_, String>("JunkServer.Handler2", &1u64)
            .await
            .expect_err("not connected");
        assert_eq!(
            err,
            RpcError::EndNotConnected {
                end: "unconnected".into()
            }
        );

        let disabled = net.make_end("disabled").expect("a new end");
        net.connect("disabled", "s").expect("the end exists");
        let err = disabled
            .call::<_, String>("JunkServer.Handler2", &1u64)
            .await
            .expect_err("disabled");
        assert_eq!(
            err,
            RpcError::EndDisabled {
                end: "disabled".into()
            }
        );

        let to_nowhere = connected_end(&net, "to-nowhere", "never-added");
        let err = to_nowhere
            .call::<_, String>("JunkServer.Handler2", &1u64)
            .await
            .expect_err("no such server");
        assert_eq!(
            err,
            RpcError::NoServer {
                server: "never-added".into()
            }
        );

        let to_deleted = connected_end(&net, "to-deleted", "s");
        net.delete_server("s");
        let err = to_deleted
            .call::<_, String>("JunkServer.Handler2", &1u64)
            .await
            .expect_err("the server was deleted");
        assert_eq!(err, RpcError::NoServer { server: "s".into() });

        let deleted = connected_end(&net, "deleted", "s");
        net.delete_end("deleted").expect("the end exists");
        let err = deleted
            .call::<_, String>("JunkServer.Handler2", &1u64)
            .await
            .expect_err("the end was deleted");
        assert_eq!(
            err,
            RpcError::EndDeleted {
                end: "deleted".into()
            }
        );
        for e in [
            RpcError::EndNotConnected { end: "x".into() },
            RpcError::EndDisabled { end: "x".into() },
            RpcError::NoServer { server: "x".into() },
            RpcError::EndDeleted { end: "x".into() },
        ] {
            assert!(!e.is_programming_error(), "{e} is a network fault");
        }
    });
}

#[test]
fn deleting_the_server_while_its_handler_runs_is_server_died() {
    on_both("server_died", 30, || async {
        let (net, end, _log) = junk_network("s", "e");
        let call = runtime::spawn(end.call::<_, i64>("JunkServer.Handler3", &1i64));
        wait_until("the handler runs", || net.count("s") == 1).await;
        net.delete_server("s");
        let err = call
            .await
            .expect("the calling task finishes")
            .expect_err("the server was deleted");
        assert_eq!(
            err,
            RpcError::ServerDied {
                server: "s".into(),
                name: "JunkServer.Handler3".into()
            }
        );
        assert!(!err.is_programming_error());
    });
}

#[test]
fn killing_the_servers_node_while_its_handler_runs_is_server_killed() {
    on_both("server_killed", 31, || async {
        let node = runtime::new_node();
        let (svc, _log) = junk_service();
        let server = Server::on_node(node);
        server.add_service(svc).expect("a new service");
        assert_eq!(server.node(), node);
        let net = Network::new();
        net.add_server("s", server);
        let end = connected_end(&net, "e", "s");

        let call = runtime::spawn(end.call::<_, i64>("JunkServer.Handler3", &1i64));
        wait_until("the handler runs", || net.count("s") == 1).await;
        let t0 = runtime::now();
        runtime::kill_node(node);
        let err = call
            .await
            .expect("the calling task (on the root node) finishes")
            .expect_err("the server's node was killed");
        assert_eq!(
            err,
            RpcError::ServerKilled {
                server: "s".into(),
                name: "JunkServer.Handler3".into()
            }
        );
        if is_sim() {
            assert_eq!(ms_since(t0), 0, "a killed handler is reported at once");
        }

        assert!(!err.is_programming_error());
    });
}

#[test]
fn a_call_to_a_killed_node_whose_server_is_still_registered_is_not_delivered() {
    // The original tester always deletes a crashed peer's server, so such a call meets a
    // missing server: not delivered (no count) and failed after the dead-end delay. A killed
    // node whose server was left registered is treated the same way.
    on_both("killed_node_server", 32, || async {
        let node = runtime::new_node_named("S1");
        let (svc, log) = junk_service();
        let server = Server::on_node(node);
        server.add_service(svc).expect("a new service");
        let net = Network::new();
        net.add_server("s", server);
        let end = connected_end(&net, "e", "s");
        runtime::kill_node(node);

        let calls: Vec<_> = (0..10u64)
            .map(|i| {
                let end = end.clone();
                runtime::spawn(async move {
                    let t0 = runtime::now();
                    let result = end.call::<_, String>("JunkServer.Handler2", &i).await;
                    (result, ms_since(t0))
                })
            })
            .collect();
        let mut delays = Vec::new();
        for c in calls {
            let (result, ms) = c.await.expect("the callers run on the root node");
            assert_eq!(
                result,
                Err(RpcError::ServerNodeKilled { server: "s".into() })
            );
            delays.push(ms);
        }
        assert_eq!(net.count("s"), 0, "a killed node's server receives nothing");
        assert_eq!(net.total_count(), 10, "every call is counted as sent");
        assert!(log.log2.lock().is_empty());
        if is_sim() {
            // The short dead-end delay (long delays are off): 0-99 ms, not all 0.
            assert!(delays.iter().all(|&d| d < 100), "{delays:?}");
            assert!(delays.iter().any(|&d| d > 0), "{delays:?}");
            // With long delays on: 0-6999 ms.
            net.set_long_delays(true);
            let t0 = runtime::now();
            let err = end
                .call::<_, String>("JunkServer.Handler2", &1u64)
                .await
                .expect_err("the node is dead");
            assert!(matches!(err, RpcError::ServerNodeKilled { .. }), "{err}");
            assert!(ms_since(t0) < 7000);
        }
        let err = RpcError::ServerNodeKilled { server: "s".into() };
        assert!(!err.is_programming_error());
        assert!(err.to_string().contains("not delivered"), "{err}");
    });
}

#[test]
fn a_cleaned_up_network_fails_calls_at_once() {
    on_both("network_closed", 32, || async {
        let (net, end, log) = junk_network("s", "e");
        net.set_long_delays(true);
        let other = net.make_end("disabled").expect("a new end");
        net.cleanup();
        let t0 = runtime::now();
        let err = end
            .call::<_, String>("JunkServer.Handler2", &1u64)
            .await
            .expect_err("the network is closed");
        assert_eq!(err, RpcError::NetworkClosed);
        // Even an end that would wait up to 7 s fails at once.
        let err = other
            .call::<_, String>("JunkServer.Handler2", &1u64)
            .await
            .expect_err("the network is closed");
        assert_eq!(err, RpcError::NetworkClosed);
        if is_sim() {
            assert_eq!(ms_since(t0), 0, "NetworkClosed must not wait");
        }
        assert_eq!(net.total_count(), 0, "closed calls are not sent");
        assert!(log.log2.lock().is_empty());
        assert!(!err.is_programming_error());
    });
}

#[test]
fn drops_are_distinct_network_faults() {
    let request = RpcError::RequestDropped { name: "A.B".into() };
    let reply = RpcError::ReplyDropped { name: "A.B".into() };
    assert_ne!(request, reply);
    assert!(!request.is_programming_error());
    assert!(!reply.is_programming_error());
    assert!(request.to_string().contains("never ran"), "{request}");
    assert!(reply.to_string().contains("did run"), "{reply}");
}

#[test]
fn duplicate_end_names_are_refused() {
    let net = Network::new();
    net.make_end("e").expect("a new end");
    let err = net.make_end("e").expect_err("the name is taken");
    assert_eq!(err, NetworkError::DuplicateEnd("e".into()));
    assert!(err.to_string().contains("unique"), "{err}");
}

#[test]
fn set_up_steps_on_a_missing_end_are_refused() {
    let net = Network::new();
    assert_eq!(
        net.connect("ghost", "s"),
        Err(NetworkError::UnknownEnd("ghost".into()))
    );
    assert_eq!(
        net.enable("ghost", true),
        Err(NetworkError::UnknownEnd("ghost".into()))
    );
    assert_eq!(
        net.delete_end("ghost"),
        Err(NetworkError::UnknownEnd("ghost".into()))
    );
}

#[test]
fn duplicate_services_and_methods_are_refused() {
    let server = Server::new();
    assert_eq!(server.node(), NodeId::ROOT, "outside a run, the root node");
    server
        .add_service(Service::new("Raft").expect("a good name"))
        .expect("a new service");
    let err = server
        .add_service(Service::new("Raft").expect("a good name"))
        .expect_err("the service exists");
    assert_eq!(err, NetworkError::DuplicateService("Raft".into()));

    let mut svc = Service::new("Raft").expect("a good name");
    svc.handle("RequestVote", |t: u64| t).expect("a new method");
    let err = svc
        .handle("RequestVote", |t: u64| t + 1)
        .expect_err("the method exists");
    assert_eq!(
        err,
        NetworkError::DuplicateMethod {
            service: "Raft".into(),
            method: "RequestVote".into()
        }
    );
    // A plain and an async handler share one namespace.
    let err = svc
        .handle_async("RequestVote", |t: u64| async move { t })
        .expect_err("the method exists");
    assert!(matches!(err, NetworkError::DuplicateMethod { .. }), "{err}");
    assert_eq!(svc.methods(), vec!["Raft.RequestVote".to_string()]);
}

#[test]
fn names_with_a_dot_or_empty_names_are_refused() {
    let err = Service::new("Raft.Peer").expect_err("a service name with a dot");
    assert!(
        matches!(&err, NetworkError::BadName { name, .. } if name == "Raft.Peer"),
        "{err:?}"
    );
    assert!(err.to_string().contains("dot"), "{err}");
    assert!(matches!(
        Service::new(""),
        Err(NetworkError::BadName { .. })
    ));

    let mut svc = Service::new("Raft").expect("a good name");
    let err = svc
        .handle("Append.Entries", |t: u64| t)
        .expect_err("a method name with a dot");
    assert!(
        matches!(&err, NetworkError::BadName { name, .. } if name == "Append.Entries"),
        "{err:?}"
    );
    assert!(matches!(
        svc.handle("", |t: u64| t),
        Err(NetworkError::BadName { .. })
    ));
    assert!(svc.methods().is_empty(), "refused methods are not added");
}
