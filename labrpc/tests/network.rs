//! The original Go labrpc tests (`labrpc/test_test.go`), ported: each runs on the sim executor
//! (where timing is exact, in virtual time) and on the real one (where timing is only
//! checked loosely, or not at all).

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use futures::FutureExt;
use labrpc::runtime::{self, Executor, JoinHandle};
use labrpc::{codec, Network, RpcError};

#[test]
fn basic_call_returns_the_handlers_reply() {
    on_both("basic", 1, || async {
        let (_net, end, _log) = junk_network("server99", "end1-99");
        let reply: String = end
            .call("JunkServer.Handler2", &111u64)
            .await
            .expect("a call on a reliable, connected network is delivered");
        assert_eq!(reply, "handler2-111");

        let reply: i64 = end
            .call("JunkServer.Handler1", "9099")
            .await
            .expect("a call on a reliable, connected network is delivered");
        assert_eq!(reply, 9099);
    });
}

#[test]
fn types_struct_plain_and_async_handlers_all_reply() {
    on_both("types", 2, || async {
        let (net, end, _log) = junk_network("server99", "end1-99");

        let reply: JunkReply = end
            .call("JunkServer.Handler4", &JunkArgs { x: 99 })
            .await
            .expect("struct arguments are delivered");
        assert_eq!(reply.x, "struct");

        let reply: JunkReply = end
            .call("JunkServer.Handler5", &99i64)
            .await
            .expect("plain arguments are delivered");
        assert_eq!(reply.x, "plain");

        // An async handler, a handler capturing state, and a unit argument.
        let mut svc = labrpc::Service::new("Typed").expect("a good name");
        let offset = 1000u64;
        svc.handle_async("Later", |n: u64| async move {
            runtime::sleep(Duration::from_millis(5)).await;
            vec![n; 3]
        })
        .expect("a new method")
        .handle("Offset", move |n: u64| n + offset)
        .expect("a new method")
        .handle("Unit", |(): ()| Some("unit".to_string()))
        .expect("a new method");
        let server = labrpc::Server::new();
        server.add_service(svc).expect("a new service");
        net.add_server("typed", server);
        let typed = connected_end(&net, "end-typed", "typed");

        let v: Vec<u64> = typed
            .call("Typed.Later", &7u64)
            .await
            .expect("an async handler replies");
        assert_eq!(v, vec![7, 7, 7]);
        let n: u64 = typed
            .call("Typed.Offset", &1u64)
            .await
            .expect("a capturing handler replies");
        assert_eq!(n, 1001);
        let s: Option<String> = typed
            .call("Typed.Unit", &())
            .await
            .expect("a unit-argument handler replies");
        assert_eq!(s.as_deref(), Some("unit"));
    });
}

#[test]
fn disconnect_unconnected_and_disabled_ends_fail_until_enabled() {
    on_both("disconnect", 3, || async {
        let net = Network::new();
        let (server, log) = junk_server();
        net.add_server("server99", server);
        let end = net.make_end("end1-99").expect("a new end");

        // A new end is neither connected nor enabled.
        let err = end
            .call::<_, String>("JunkServer.Handler2", &111u64)
            .await
            .expect_err("an unconnected end cannot deliver");
        assert_eq!(
            err,
            RpcError::EndNotConnected {
                end: "end1-99".into()
            }
        );

        net.connect("end1-99", "server99").expect("the end exists");
        let err = end
            .call::<_, String>("JunkServer.Handler2", &111u64)
            .await
            .expect_err("a disabled end cannot deliver");
        assert_eq!(
            err,
            RpcError::EndDisabled {
                end: "end1-99".into()
            }
        );
        assert!(
            log.log2.lock().is_empty(),
            "the handler ran for an undeliverable call"
        );
        assert_eq!(net.count("server99"), 0);

        net.enable("end1-99", true).expect("the end exists");
        let reply: String = end
            .call("JunkServer.Handler2", &111u64)
            .await
            .expect("after enable the call is delivered");
        assert_eq!(reply, "handler2-111");

        // Disabling again makes calls fail again.
        net.enable("end1-99", false).expect("the end exists");
        let err = end
            .call::<_, String>("JunkServer.Handler2", &112u64)
            .await
            .expect_err("a disabled end cannot deliver");
        assert!(matches!(err, RpcError::EndDisabled { .. }), "{err}");

        // The server counts deliveries; the network counts every send.
        assert_eq!(net.count("server99"), 1);
        assert_eq!(net.total_count(), 4);
        assert_eq!(*log.log2.lock(), vec![111]);
    });
}

#[test]
fn counts_seventeen_calls_are_seventeen_deliveries() {
    on_both("counts", 4, || async {
        let (net, end, _log) = junk_network("server99", "end1-99");
        for i in 0..17u64 {
            let reply: String = end
                .call("JunkServer.Handler2", &i)
                .await
                .expect("a reliable call is delivered");
            assert_eq!(reply, format!("handler2-{i}"));
        }
        assert_eq!(net.count("server99"), 17);
        assert_eq!(net.total_count(), 17);
    });
}

#[test]
fn bytes_requests_and_delivered_replies_are_counted() {
    on_both("bytes", 5, || async {
        let (net, end, _log) = junk_network("server99", "end1-99");

        // 17 calls with a 284-character string. postcard writes a string as a varint length
        // (2 bytes for 284) and the bytes, and Handler6's u64 reply 284 as a 2-byte varint:
        // 17 × (286 + 2) = 4896 bytes. The Go test (gob) accepts [4828, 6000]; we keep the
        // lower bound (every argument byte is counted) and a tighter upper bound that allows
        // 16 bytes of framing per call.
        let arg = "x".repeat(71).repeat(2).repeat(2);
        assert_eq!(arg.len(), 284);
        for _ in 0..17 {
            let n: u64 = end
                .call("JunkServer.Handler6", &arg)
                .await
                .expect("a reliable call is delivered");
            assert_eq!(n, 284);
        }
        let after_args = net.total_bytes();
        assert!(
            (17 * 284..=17 * (284 + 16)).contains(&after_args),
            "17 calls with 284-byte arguments counted {after_args} bytes"
        );
        assert_eq!(after_args, 17 * 288, "postcard sizes (see the comment)");

        // 17 calls returning a 107-byte string: the argument 107 is a 1-byte varint, the reply
        // 1 + 107 bytes, so the delta is 17 × 109 = 1853. The Go test accepts [1800, 2500].
        for _ in 0..17 {
            let s: String = end
                .call("JunkServer.Handler7", &107u64)
                .await
                .expect("a reliable call is delivered");
            assert_eq!(s.len(), 107);
        }
        let delta = net.total_bytes() - after_args;
        assert!(
            (17 * 107..=17 * (107 + 16)).contains(&delta),
            "17 calls with 107-byte replies added {delta} bytes"
        );
        assert_eq!(delta, 17 * 109, "postcard sizes (see the comment)");
    });
}

#[test]
fn concurrent_many_twenty_clients_ten_calls_each() {
    on_both("concurrent_many", 6, || async {
        let net = Network::new();
        let (server, log) = junk_server();
        net.add_server("server1000", server);
        let clients: Vec<JoinHandle<u64>> = (0..20u64)
            .map(|i| {
                let end = connected_end(&net, &format!("client-{i}"), "server1000");
                runtime::spawn(async move {
                    let mut done = 0;
                    for j in 0..10u64 {
                        let arg = i * 100 + j;
                        let reply: String = end
                            .call("JunkServer.Handler2", &arg)
                            .await
                            .expect("a reliable call is delivered");
                        assert_eq!(reply, format!("handler2-{arg}"));
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        let mut total = 0;
        for c in clients {
            total += c.await.expect("the client task finishes");
        }
        assert_eq!(total, 200);
        assert_eq!(net.count("server1000"), 200);
        assert_eq!(log.log2.lock().len(), 200);
    });
}

#[test]
fn concurrent_one_twenty_calls_on_one_end() {
    on_both("concurrent_one", 7, || async {
        let (net, end, log) = junk_network("server1000", "end1-1000");
        let calls: Vec<_> = (0..20u64)
            .map(|i| {
                let call = end.call::<_, String>("JunkServer.Handler2", &(100 + i));
                runtime::spawn(async move { (i, call.await) })
            })
            .collect();
        for c in calls {
            let (i, reply) = c.await.expect("the calling task finishes");
            assert_eq!(
                reply.expect("a reliable call is delivered"),
                format!("handler2-{}", 100 + i)
            );
        }
        assert_eq!(net.count("server1000"), 20);
        let seen: BTreeSet<u64> = log.log2.lock().iter().copied().collect();
        assert_eq!(seen, (100..120).collect::<BTreeSet<u64>>());
    });
}

#[test]
fn unreliable_three_hundred_calls_neither_all_succeed_nor_all_fail() {
    on_both("unreliable", 8, || async {
        let net = Network::new();
        net.set_reliable(false);
        let (server, _log) = junk_server();
        net.add_server("server1000", server);
        let clients: Vec<_> = (0..300u64)
            .map(|i| {
                let end = connected_end(&net, &format!("client-{i}"), "server1000");
                runtime::spawn(async move {
                    end.call::<_, String>("JunkServer.Handler2", &i)
                        .await
                        .map(|reply| assert_eq!(reply, format!("handler2-{i}")))
                })
            })
            .collect();
        let mut ok = 0;
        for c in clients {
            match c.await.expect("the client task finishes") {
                Ok(()) => ok += 1,
                Err(RpcError::RequestDropped { .. } | RpcError::ReplyDropped { .. }) => {}
                Err(other) => panic!("an unreliable network fails calls by dropping, not {other}"),
            }
        }
        assert!(ok > 0, "no call succeeded on the unreliable network");
        assert!(ok < 300, "every call succeeded on the unreliable network");
    });
}

/// How long the real-mode ports of TestRegression1 and TestKilled allow for what the original
/// requires within 30 ms and 100 ms. On a loaded 2-core machine each hand-over between the
/// test body and a worker can wait for a time slice (tens of ms at worst);
/// the call after `enable` takes a few such hand-overs, and the call to a deleted server one
/// 100 ms dead-server poll plus a few. A second covers that many times over, and is still far
/// below what a broken network takes: a call queued behind the 20 calls to a disabled end waits
/// for their dead-end delays (up to 7 s each with long delays on), and a call that is not
/// abandoned at the dead-server poll waits for the 20 s handler. The sim runs check the
/// original's own bounds exactly, in virtual time.
const REAL_BOUND_MS: u64 = 1000;

#[test]
fn regression1_calls_started_while_disabled_do_not_delay_a_later_call() {
    on_both("regression1", 9, || async {
        let (net, end, log) = junk_network("server99", "end1-99");
        net.enable("end1-99", false).expect("the end exists");
        // Long delays make the 20 early calls wait 0-7 s each, so a later call that had to
        // wait for them (the bug this test once caught in the original) could not pass the
        // real-mode bound by luck.
        net.set_long_delays(true);

        // Start 20 calls while the end is disabled. Wait until all 20 were sent (the network
        // counts a call and routes it in one step), so that enabling the end happens while
        // they are still waiting.
        let early: Vec<_> = (0..20u64)
            .map(|i| runtime::spawn(end.call::<_, String>("JunkServer.Handler2", &(100 + i))))
            .collect();
        wait_until("the 20 early calls were sent", || net.total_count() == 20).await;
        runtime::sleep(Duration::from_millis(20)).await;

        // Enable the end: a new call must complete quickly.
        let t0 = runtime::now();
        net.enable("end1-99", true).expect("the end exists");
        let reply: String = end
            .call("JunkServer.Handler2", &99u64)
            .await
            .expect("the call after enable is delivered");
        assert_eq!(reply, "handler2-99");
        let took = ms_since(t0);
        match runtime::executor() {
            Executor::Sim => assert!(
                took <= 30,
                "the call after enable took {took} ms of virtual time"
            ),
            Executor::Real => assert!(
                took <= REAL_BOUND_MS,
                "the call after enable took {took} ms"
            ),
        }
        assert_eq!(*log.log2.lock(), vec![99], "wrong RPCs delivered");
        assert_eq!(net.count("server99"), 1);

        // Waiting for the early calls costs nothing in virtual time.
        if is_sim() {
            for e in early {
                let result = e.await.expect("the calling task finishes");
                assert!(
                    matches!(result, Err(RpcError::EndDisabled { .. })),
                    "a call sent while disabled ended with {result:?}"
                );
            }
            assert_eq!(*log.log2.lock(), vec![99], "wrong RPCs delivered");
        }
    });
}

#[test]
fn killed_a_call_to_a_deleted_server_fails_within_the_dead_server_poll() {
    on_both("killed", 10, || async {
        let (net, end, _log) = junk_network("server99", "end1-99");
        let mut call = runtime::spawn(end.call::<_, i64>("JunkServer.Handler3", &99i64));

        runtime::sleep(Duration::from_secs(1)).await;
        assert!(
            (&mut call).now_or_never().is_none(),
            "Handler3 sleeps 20 s, so the call cannot have returned yet"
        );

        let t0 = runtime::now();
        net.delete_server("server99");
        let result = call.await.expect("the calling task finishes");
        assert_eq!(
            result,
            Err(RpcError::ServerDied {
                server: "server99".into(),
                name: "JunkServer.Handler3".into()
            })
        );
        let took = ms_since(t0);
        match runtime::executor() {
            Executor::Sim => assert!(
                took <= 100,
                "the call failed {took} ms of virtual time after delete_server"
            ),
            Executor::Real => assert!(
                took <= REAL_BOUND_MS,
                "the call failed {took} ms after delete_server"
            ),
        }
    });
}

#[test]
fn long_reordering_answers_calls_on_one_end_out_of_order() {
    let outcome = on_sim("reordering_order", 11, || async {
        let (net, end, _log) = junk_network("server99", "end1-99");
        net.set_long_reordering(true);
        let finished = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let calls: Vec<_> = (0..50u64)
            .map(|i| {
                let call = end.call::<_, String>("JunkServer.Handler2", &i);
                let finished = finished.clone();
                runtime::spawn(async move {
                    call.await.expect("a reliable network delivers every call");
                    finished.lock().push(i);
                })
            })
            .collect();
        for c in calls {
            c.await.expect("the calling task finishes");
        }
        let order = finished.lock().clone();
        order
    });
    let order = outcome.value;
    assert_eq!(order.len(), 50);
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_ne!(
        order, sorted,
        "with long reordering, replies should come back out of order"
    );
}

#[test]
fn replacing_or_disabling_a_server_while_it_handles_a_call_discards_the_reply() {
    on_both("replace_or_disable", 12, || async {
        let (net, end, _log) = junk_network("server99", "end1-99");

        // Replaced: add_server under the same name.
        let call = runtime::spawn(end.call::<_, i64>("JunkServer.Handler3", &1i64));
        wait_until("the handler runs", || net.count("server99") == 1).await;
        let (fresh, _fresh_log) = junk_server();
        net.add_server("server99", fresh);
        let result = call.await.expect("the calling task finishes");
        assert!(
            matches!(result, Err(RpcError::ServerDied { .. })),
            "replaced server: {result:?}"
        );

        // Disabled: the end is cut while the handler runs.
        let call = runtime::spawn(end.call::<_, i64>("JunkServer.Handler3", &2i64));
        wait_until("the handler runs", || net.count("server99") == 1).await;
        net.enable("end1-99", false).expect("the end exists");
        let result = call.await.expect("the calling task finishes");
        assert!(
            matches!(result, Err(RpcError::ServerDied { .. })),
            "disabled end: {result:?}"
        );
    });
}

#[test]
fn a_handler_that_finishes_after_its_server_was_deleted_still_fails_the_call() {
    // The dead-server check after the handler returns: a handler that finishes before the
    // 100 ms poll, but after its server was deleted, must not deliver a positive reply.
    on_both("dead_after_handler", 13, || async {
        let net = Network::new();
        let gate = Arc::new(AtomicBool::new(false));
        let mut svc = labrpc::Service::new("Gate").expect("a good name");
        let handler_gate = gate.clone();
        svc.handle_async("Wait", move |n: u64| {
            let gate = handler_gate.clone();
            async move {
                while !gate.load(Ordering::Acquire) {
                    runtime::sleep(Duration::from_millis(1)).await;
                }
                n
            }
        })
        .expect("a new method");
        let server = labrpc::Server::new();
        server.add_service(svc).expect("a new service");
        net.add_server("s", server.clone());
        let end = connected_end(&net, "e", "s");

        let call = runtime::spawn(end.call::<_, u64>("Gate.Wait", &7u64));
        wait_until("the handler runs", || server.count() == 1).await;
        net.delete_server("s");
        gate.store(true, Ordering::Release);
        let result = call.await.expect("the calling task finishes");
        assert!(
            matches!(result, Err(RpcError::ServerDied { .. })),
            "{result:?}"
        );
        if is_sim() {
            // The handler returned at once, so this was the check after it, not the poll.
            let at = runtime::now().since_start();
            assert!(at < Duration::from_millis(100), "failed at {at:?}");
        }
        assert_eq!(net.count("s"), 0, "a deleted server counts nothing");
    });
}

#[test]
fn bytes_are_not_counted_for_replies_that_were_not_delivered() {
    on_both("bytes_undelivered", 14, || async {
        let (net, end, _log) = junk_network("server99", "end1-99");
        let call = runtime::spawn(end.call::<_, i64>("JunkServer.Handler3", &5i64));
        wait_until("the handler runs", || net.count("server99") == 1).await;
        net.delete_server("server99");
        call.await
            .expect("the calling task finishes")
            .expect_err("the server was deleted");
        let args = codec::encode(&5i64).expect("an i64 encodes").len() as u64;
        assert_eq!(net.total_bytes(), args, "only the request was counted");
    });
}

#[test]
fn delete_end_fails_later_calls_and_frees_the_name() {
    on_both("delete_end", 15, || async {
        let (net, end, _log) = junk_network("server99", "end1-99");
        net.delete_end("end1-99").expect("the end exists");
        let err = end
            .call::<_, String>("JunkServer.Handler2", &1u64)
            .await
            .expect_err("a deleted end cannot deliver");
        assert_eq!(
            err,
            RpcError::EndDeleted {
                end: "end1-99".into()
            }
        );
        assert_eq!(
            net.delete_end("end1-99"),
            Err(labrpc::NetworkError::UnknownEnd("end1-99".into()))
        );
        // The name can be reused, and the new end works.
        let again = connected_end(&net, "end1-99", "server99");
        let reply: String = again
            .call("JunkServer.Handler2", &2u64)
            .await
            .expect("the new end is connected and enabled");
        assert_eq!(reply, "handler2-2");
        // The old handle stays deleted: it does not borrow the new end of the same name.
        let err = end
            .call::<_, String>("JunkServer.Handler2", &3u64)
            .await
            .expect_err("the old end was deleted");
        assert!(matches!(err, RpcError::EndDeleted { .. }), "{err}");
    });
}
