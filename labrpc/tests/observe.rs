//! The network's observer hears every call's life: sent, handled (at most once, and only when
//! the handler produced a reply), and delivered or failed, in that order.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::on_both;
use labrpc::observe::{Observer, RpcEvent, Stage};
use labrpc::{runtime, Network, RpcError, Server, Service};
use parking_lot::Mutex;

/// What the observer recorded of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Sent(Vec<u8>),
    Handled(Vec<u8>),
    Delivered(Vec<u8>),
    Failed(RpcError),
}

/// One call as observed: its end, its method, and what happened to it.
type Life = (u64, String, Vec<Seen>);

/// Records every event, per call, with the end and method it named.
#[derive(Default)]
struct Recorder {
    calls: Mutex<BTreeMap<u64, Life>>,
}

impl Observer for Recorder {
    fn observe(&self, event: &RpcEvent<'_>) {
        let seen = match event.stage {
            Stage::Sent { args } => Seen::Sent(args.to_vec()),
            Stage::Handled { reply, .. } => Seen::Handled(reply.to_vec()),
            Stage::Delivered { reply } => Seen::Delivered(reply.to_vec()),
            Stage::Failed { error } => Seen::Failed(error.clone()),
        };
        let mut calls = self.calls.lock();
        let entry = calls
            .entry(event.call)
            .or_insert_with(|| (event.end, event.method.to_string(), Vec::new()));
        assert_eq!(entry.0, event.end, "one call, one end");
        entry.2.push(seen);
    }
}

/// A network with an `Echo.Double` server, one enabled end, and `recorder` installed.
fn echo_network(recorder: Arc<Recorder>) -> (Network, labrpc::ClientEnd) {
    let net = Network::new();
    net.set_observer(recorder).expect("the first observer");
    let mut svc = Service::new("Echo").expect("a good name");
    svc.handle("Double", |x: u64| x * 2).expect("a new method");
    let server = Server::new();
    server.add_service(svc).expect("a new service");
    net.add_server("s", server);
    let end = net.make_end("c").expect("a new end");
    net.connect("c", "s").expect("the end exists");
    net.enable("c", true).expect("the end exists");
    (net, end)
}

#[test]
fn a_delivered_call_is_sent_handled_and_delivered_with_its_bytes() {
    on_both("observe_delivered", 1, || async {
        let recorder = Arc::new(Recorder::default());
        let (_net, end) = echo_network(recorder.clone());
        let reply: u64 = end.call("Echo.Double", &21u64).await.expect("a reply");
        assert_eq!(reply, 42);
        let calls = recorder.calls.lock();
        let (end_id, method, seen) = calls.get(&0).expect("call 0 was observed");
        assert_eq!((*end_id, method.as_str()), (end.id(), "Echo.Double"));
        let args = labrpc::codec::encode(&21u64).expect("encodes");
        let bytes = labrpc::codec::encode(&42u64).expect("encodes");
        assert_eq!(
            *seen,
            vec![
                Seen::Sent(args),
                Seen::Handled(bytes.clone()),
                Seen::Delivered(bytes)
            ]
        );
    });
}

#[test]
fn drops_and_dead_ends_are_told_apart_and_a_dropped_reply_was_still_handled() {
    on_both("observe_unreliable", 2, || async {
        let recorder = Arc::new(Recorder::default());
        let (net, end) = echo_network(recorder.clone());
        net.set_reliable(false);
        let calls = 300u64;
        for x in 0..calls {
            let _ = end.call::<_, u64>("Echo.Double", &x).await;
        }
        net.enable("c", false).expect("the end exists");
        let refused = end.call::<_, u64>("Echo.Double", &7u64).await;
        assert!(matches!(refused, Err(RpcError::EndDisabled { .. })));

        let calls_seen = recorder.calls.lock();
        assert_eq!(
            calls_seen.len() as u64,
            calls + 1,
            "every call was observed"
        );
        let (mut request_drops, mut reply_drops) = (0, 0);
        for (call, (_, _, seen)) in calls_seen.iter() {
            assert!(matches!(seen[0], Seen::Sent(_)), "call {call}: {seen:?}");
            match &seen[1..] {
                [Seen::Handled(a), Seen::Delivered(b)] => assert_eq!(a, b),
                [Seen::Failed(RpcError::RequestDropped { .. })] => request_drops += 1,
                [Seen::Handled(_), Seen::Failed(RpcError::ReplyDropped { .. })] => reply_drops += 1,
                [Seen::Failed(RpcError::EndDisabled { .. })] => {
                    assert_eq!(*call, calls, "only the last call was refused")
                }
                other => panic!("call {call}: unexpected life {other:?}"),
            }
        }
        // About 10% each on an unreliable network.
        assert!(
            request_drops > 5 && reply_drops > 5,
            "{request_drops} {reply_drops}"
        );
    });
}

#[test]
fn a_handler_that_ran_on_a_server_that_died_is_still_reported() {
    on_both("observe_died", 3, || async {
        let recorder = Arc::new(Recorder::default());
        let net = Network::new();
        net.set_observer(recorder.clone())
            .expect("the first observer");
        let mut svc = Service::new("Slow").expect("a good name");
        svc.handle_async("Nap", |ms: u64| async move {
            runtime::sleep(Duration::from_millis(ms)).await;
            ms
        })
        .expect("a new method");
        let server = Server::new();
        server.add_service(svc).expect("a new service");
        net.add_server("s", server);
        let end = net.make_end("c").expect("a new end");
        net.connect("c", "s").expect("the end exists");
        net.enable("c", true).expect("the end exists");

        let call = runtime::spawn({
            let end = end.clone();
            async move { end.call::<_, u64>("Slow.Nap", &300u64).await }
        });
        runtime::sleep(Duration::from_millis(50)).await;
        net.delete_server("s");
        let result = call.await.expect("the caller finishes");
        assert!(
            matches!(result, Err(RpcError::ServerDied { .. })),
            "{result:?}"
        );
        // The handler itself goes on (its node lives) and reports its reply when it is done.
        common::wait_until("the handler finished", || {
            recorder.calls.lock()[&0].2.len() == 3
        })
        .await;
        let calls = recorder.calls.lock();
        let seen = &calls[&0].2;
        assert!(
            matches!(seen[1], Seen::Failed(RpcError::ServerDied { .. })),
            "{seen:?}"
        );
        assert!(matches!(seen[2], Seen::Handled(_)), "{seen:?}");
    });
}

#[test]
fn a_network_takes_one_observer() {
    let net = Network::new();
    net.set_observer(Arc::new(Recorder::default()))
        .expect("the first observer");
    let second = net.set_observer(Arc::new(Recorder::default()));
    assert!(second.is_err());
    assert!(second
        .unwrap_err()
        .to_string()
        .contains("already has an observer"));
}
