//! A group of servers for the Lab 4 testers (Go `tester1`'s `ServerGrp`): each server is a Raft
//! peer plus the service on it, on one node, with its persister kept across crashes.
//!
//! The group changes only server-to-server links: clerks (the KV tester's) reach servers over
//! ends of their own, which partitions leave alone, as in every year of the original.
//!
//! [`shutdown_server`](Group::shutdown_server) follows the original's order: the server is
//! cut off and **deleted from the network before its persister is replaced** by a copy, so a
//! zombie that is still running cannot acknowledge a request and then save into the persister
//! its next life starts from; then it is killed with every task of its node.

use std::sync::Arc;

use labrpc::runtime::{self, NodeId};
use labrpc::{ClientEnd, Network, Server, Service};
use parking_lot::Mutex;
use raftapi::Persister;

use crate::tester::server_name;

/// What the group needs of a server: its RPC services (the Raft peer's, and the service's own),
/// its Raft state for finding the leader, and a way to kill it.
pub trait GroupServer: Send + Sync + 'static {
    /// The services to register on the server's RPC server (`"Raft"`, `"KVServer"`, ...).
    fn services(&self) -> Vec<Service>;
    /// The server's Raft `(term, is_leader)`.
    fn raft_state(&self) -> (u64, bool);
    /// Kills the server (its Raft peer and its service).
    fn kill(&self);
}

/// How a group makes server `me` from its ends to every server and its persister. Called inside
/// the server's node.
pub type MakeServer<S> = Box<dyn Fn(Vec<ClientEnd>, usize, Persister) -> S + Send + Sync>;

struct World<S> {
    servers: Vec<Option<Arc<S>>>,
    connected: Vec<bool>,
    saved: Vec<Persister>,
    ends: Vec<Vec<String>>,
    nodes: Vec<NodeId>,
    generation: u64,
}

/// `n` servers on a network (Go `ServerGrp`).
pub struct Group<S: GroupServer> {
    net: Network,
    n: usize,
    make: MakeServer<S>,
    world: Mutex<World<S>>,
}

/// Logs a tester event (topic `test`).
pub(crate) fn log_event(message: std::fmt::Arguments<'_>) {
    tracing::info!(target: "tester", topic = "test", "{message}");
}

impl<S: GroupServer> Group<S> {
    /// `n` servers made by `make`, started and connected to one another.
    pub fn new(net: Network, n: usize, make: MakeServer<S>) -> Group<S> {
        let g = Group {
            net,
            n,
            make,
            world: Mutex::new(World {
                servers: (0..n).map(|_| None).collect(),
                connected: vec![false; n],
                saved: (0..n).map(|_| Persister::new()).collect(),
                ends: vec![Vec::new(); n],
                nodes: vec![NodeId::ROOT; n],
                generation: 0,
            }),
        };
        log_event(format_args!("new group: {n} servers"));
        for i in 0..n {
            g.start_server(i);
        }
        g.connect_all();
        g
    }

    /// The number of servers.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The network.
    pub fn net(&self) -> &Network {
        &self.net
    }

    /// Server `i`, unless it is shut down.
    pub fn server(&self, i: usize) -> Option<Arc<S>> {
        self.world.lock().servers[i].clone()
    }

    /// Whether server `i` is connected to the group.
    pub fn is_connected(&self, i: usize) -> bool {
        self.world.lock().connected[i]
    }

    /// Starts server `i` (Go `StartServer`): fresh ends, a persister holding a copy of its saved
    /// state, a new node, its services registered. Not connected until
    /// [`connect`](Group::connect) or [`connect_all`](Group::connect_all).
    pub fn start_server(&self, i: usize) {
        log_event(format_args!("start({i})"));
        let mut w = self.world.lock();
        w.generation += 1;
        let generation = w.generation;
        let mut ends = Vec::with_capacity(self.n);
        let mut names = Vec::with_capacity(self.n);
        for j in 0..self.n {
            let name = format!("end-{i}-to-{j}-gen{generation}");
            let end = self
                .net
                .make_end(name.clone())
                .expect("the group makes each end name once");
            self.net
                .connect(&name, server_name(j))
                .expect("the end was just made");
            ends.push(end);
            names.push(name);
        }
        w.ends[i] = names;
        let persister = w.saved[i].copy();
        w.saved[i] = persister.clone();
        let node = runtime::new_node_named(format!("S{i}"));
        w.nodes[i] = node;
        let server = runtime::enter_node(node, || (self.make)(ends, i, persister));
        let rpc = Server::on_node(node);
        for service in server.services() {
            if let Err(e) = rpc.add_service(service) {
                tracing::error!(target: "tester", topic = "error", "server {i}: {e}");
            }
        }
        self.net.add_server(server_name(i), rpc);
        w.servers[i] = Some(Arc::new(server));
    }

    /// Shuts server `i` down (Go `ShutdownServer`): disconnects it, deletes it from the network,
    /// **then** replaces its persister with a copy, and kills it and its node.
    pub fn shutdown_server(&self, i: usize) {
        log_event(format_args!("shutdown({i})"));
        self.disconnect(i);
        self.net.delete_server(&server_name(i));
        let (server, node) = {
            let mut w = self.world.lock();
            w.saved[i] = w.saved[i].copy();
            (w.servers[i].take(), w.nodes[i])
        };
        if let Some(server) = server {
            server.kill();
        }
        runtime::kill_node(node);
    }

    /// Shuts every server down.
    pub fn shutdown(&self) {
        for i in 0..self.n {
            self.shutdown_server(i);
        }
    }

    /// Starts every server and connects them all.
    pub fn start_all(&self) {
        for i in 0..self.n {
            self.start_server(i);
        }
        self.connect_all();
    }

    fn enable(&self, w: &World<S>, from: usize, to: usize, on: bool) {
        if let Some(name) = w.ends[from].get(to) {
            // The end exists: start_server made it, and the network never forgets one.
            let _ = self.net.enable(name, on);
        }
    }

    /// Connects server `i` to every connected server, both ways.
    pub fn connect(&self, i: usize) {
        let mut w = self.world.lock();
        w.connected[i] = true;
        for j in 0..self.n {
            if w.connected[j] {
                self.enable(&w, i, j, true);
                self.enable(&w, j, i, true);
            }
        }
    }

    /// Cuts server `i` off from every server, both ways.
    pub fn disconnect(&self, i: usize) {
        let mut w = self.world.lock();
        w.connected[i] = false;
        for j in 0..self.n {
            self.enable(&w, i, j, false);
            self.enable(&w, j, i, false);
        }
    }

    /// Connects every server that is up (Go `ConnectAll`).
    pub fn connect_all(&self) {
        log_event(format_args!("connect all"));
        let up: Vec<usize> = {
            let w = self.world.lock();
            (0..self.n).filter(|&i| w.servers[i].is_some()).collect()
        };
        for i in up {
            self.connect(i);
        }
    }

    /// Splits the group: each side is connected within itself and cut off from the other
    /// (Go `Partition`).
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        log_event(format_args!("partition = {p1:?} {p2:?}"));
        for &i in p1.iter().chain(p2) {
            self.disconnect(i);
        }
        for side in [p1, p2] {
            let mut w = self.world.lock();
            for &i in side {
                w.connected[i] = true;
            }
            for &i in side {
                for &j in side {
                    self.enable(&w, i, j, true);
                }
            }
        }
    }

    /// A majority of `n/2 + 1` servers and a minority of `n/2` with `leader` last in it (Go
    /// `MakePartition`).
    pub fn make_partition(&self, leader: usize) -> (Vec<usize>, Vec<usize>) {
        let others: Vec<usize> = (0..self.n).filter(|&i| i != leader).collect();
        let majority = self.n / 2 + 1;
        let p1 = others[..majority].to_vec();
        let mut p2 = others[majority..].to_vec();
        p2.push(leader);
        (p1, p2)
    }

    /// The server that believes it leads in the highest term, if any (Go `rsm.Leader`, which
    /// takes the first that believes it leads: on an unreliable network that may be a deposed
    /// leader that has not heard of the new term, and partitioning it away tests nothing).
    pub fn leader(&self) -> Option<usize> {
        (0..self.n)
            .filter_map(|i| {
                let (term, leads) = self.server(i)?.raft_state();
                leads.then_some((term, i))
            })
            .max()
            .map(|(_, i)| i)
    }

    /// The largest Raft state any server has saved, in bytes (Go `LogSize`).
    pub fn log_size(&self) -> usize {
        let w = self.world.lock();
        w.saved
            .iter()
            .map(Persister::raft_state_size)
            .max()
            .unwrap_or(0)
    }

    /// The largest snapshot any server has saved, in bytes (Go `SnapshotSize`).
    pub fn snapshot_size(&self) -> usize {
        let w = self.world.lock();
        w.saved
            .iter()
            .map(Persister::snapshot_size)
            .max()
            .unwrap_or(0)
    }

    /// Kills every server and closes the network.
    pub fn cleanup(&self) {
        let doomed: Vec<(Option<Arc<S>>, NodeId)> = {
            let mut w = self.world.lock();
            let nodes = w.nodes.clone();
            w.servers.iter_mut().map(Option::take).zip(nodes).collect()
        };
        for (server, node) in doomed {
            if let Some(server) = server {
                server.kill();
            }
            if runtime::in_runtime() {
                runtime::kill_node(node);
            }
        }
        self.net.cleanup();
    }
}

impl<S: GroupServer> Drop for Group<S> {
    fn drop(&mut self) {
        self.cleanup();
    }
}
