//! The tester's client: ends made on first call, cut off and restored as a whole, deleted.

use kvapi::Clnt;
use labrpc::runtime::{self, RunConfig};
use labrpc::{Network, RpcError, Server, Service};

fn echo_server(net: &Network, name: &str) {
    let mut s = Service::new("Echo").expect("a name");
    s.handle("Say", |x: u64| x + 1).expect("a new method");
    let server = Server::new();
    server.add_service(s).expect("a new service");
    net.add_server(name, server);
}

#[test]
fn a_client_reaches_a_server_started_after_it_and_can_be_cut_off_and_deleted() {
    let out = runtime::run(RunConfig::sim(3), || async {
        let net = Network::new();
        let clnt = Clnt::new(&net, "c0");
        // The server does not exist when the client is made: its end is made on the first call.
        echo_server(&net, "s1");
        assert_eq!(clnt.call::<_, u64>("s1", "Echo.Say", &1u64).await, Ok(2));

        clnt.disconnect_all();
        let cut = clnt.call::<_, u64>("s1", "Echo.Say", &1u64).await;
        assert!(
            matches!(cut, Err(ref e) if matches!(e.error, RpcError::EndDisabled { .. })),
            "{cut:?}"
        );
        // A server first called while cut off is cut off too.
        echo_server(&net, "s2");
        assert!(clnt.call::<_, u64>("s2", "Echo.Say", &1u64).await.is_err());

        clnt.connect_all();
        assert_eq!(clnt.call::<_, u64>("s1", "Echo.Say", &5u64).await, Ok(6));
        assert_eq!(clnt.call::<_, u64>("s2", "Echo.Say", &7u64).await, Ok(8));

        clnt.delete();
        assert!(clnt.call::<_, u64>("s1", "Echo.Say", &1u64).await.is_err());
        // Another client of its own is untouched.
        let other = Clnt::new(&net, "c1");
        other.call::<_, u64>("s1", "Echo.Say", &9u64).await
    })
    .expect("the run finishes");
    assert_eq!(out.value, Ok(10));
}
