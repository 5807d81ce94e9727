//! The testbed split as NTjP runs (issue 13, points 2 and 3), in one test process but over
//! real sockets: a mocks node, an order service, and router nodes that load their TAK from the
//! order service's `SokVagvalsInfo` v2, keep a local copy, and are reset after each publish.

mod common;

use std::{net::SocketAddr, path::Path};

use common::*;
use ntjp_testbed::{
    cli::client,
    config::{Config, cluster::Role},
    server::{self, Node},
    vocab::EnvName,
};
use serde_json::Value;

/// A node's config: ephemeral ports, its own state directory, the shared PKI.
fn node_config(dir: &Path, name: &str, role: Role) -> Config {
    let mut c = test_config(&dir.join(name));
    c.cluster.role = role;
    c.pki.dir = Some(dir.join("pki"));
    c
}

fn router_config(dir: &Path, name: &str, admin_port: u16, orders_port: u16) -> Config {
    let mut c = node_config(dir, name, Role::Router);
    c.admin = SocketAddr::from(([127, 0, 0, 1], admin_port));
    c.cluster.environments = vec![EnvName::Sit];
    c.cluster.orders_url = format!("http://127.0.0.1:{orders_port}");
    c.cluster.tak_fetch_timeout_ms = 10_000;
    c
}

async fn start_node(config: Config) -> Node {
    server::start_node(config)
        .await
        .unwrap_or_else(|e| panic!("node did not start: {e}"))
}

fn sit_https(node: &Node) -> SocketAddr {
    addr_of(&node.endpoints().environments["sit"].router_https)
}

fn consumer_of(node: &Node) -> Client {
    let p = &node.endpoints().pki;
    Client::new(&p.ca, Some((&p.consumer_cert, &p.consumer_key)))
}

fn unauthorised_of(node: &Node) -> Client {
    let p = &node.endpoints().pki;
    Client::new(&p.ca, Some((&p.unauthorised_cert, &p.unauthorised_key)))
}

async fn get_json(url: &str) -> (u16, Value) {
    let a = client::get(url).await.unwrap();
    (a.status.as_u16(), a.json)
}

async fn get_text(url: &str) -> String {
    match client::get(url).await.unwrap().json {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Asserts that `client` is answered OK by the mock of county 14 through `node`'s SIT router.
async fn assert_routed(node: &Node, client: &Client) {
    let a = client
        .post(sit_https(node), cervix_request("14"), &[])
        .await
        .unwrap();
    assert_eq!(assert_ok(&a), "14");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routers_load_tak_from_the_order_service_and_every_publish_reaches_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mocks = start_node(node_config(d, "mocks", Role::Mocks)).await;
    assert_eq!(mocks.endpoints().role, "mocks");
    let (orders_port, r1_port, r2_port) = (free_port(), free_port(), free_port());
    let mut orders_config = node_config(d, "orders", Role::Orders);
    orders_config.admin = SocketAddr::from(([127, 0, 0, 1], orders_port));
    orders_config.cluster.mocks_url = Some(mocks.endpoints().mocks.clone());
    orders_config.cluster.routers = vec![
        format!("http://127.0.0.1:{r1_port}"),
        format!("http://localhost:{r2_port}"),
    ];
    orders_config.environments.sit.auto_publish = false;
    let orders = start_node(orders_config.clone()).await;
    let admin = orders.endpoints().admin.clone();
    assert_eq!(orders.endpoints().role, "orders");
    assert!(orders.endpoints().environments.is_empty());

    let r1 = start_node(router_config(d, "r1", r1_port, orders_port)).await;
    let r2 = start_node(router_config(d, "r2", r2_port, orders_port)).await;
    let r1_admin = r1.endpoints().admin.clone();
    assert_eq!(r1.endpoints().role, "router");
    assert_eq!(
        r1.endpoints().environments.keys().collect::<Vec<_>>(),
        ["sit"]
    );

    // Each router loaded SIT's TAK at start and routes the default consumer to a mock.
    for r in [&r1, &r2] {
        assert_routed(r, &consumer_of(r)).await;
    }
    let (status, s) = get_json(&format!("{r1_admin}/status")).await;
    assert_eq!(status, 200);
    assert_eq!(s["TakCacheInitialized"], "true", "{s}");
    let info = s["TakCacheResetInfo"].as_str().unwrap();
    assert!(
        info.starts_with("Date:")
            && info.contains(" Status:REFRESH_OK vagval:")
            && info.contains(" behorigheter:"),
        "{info}"
    );
    let (ready, health) = get_json(&format!("{r1_admin}/health/ready")).await;
    assert_eq!(ready, 200, "{health}");
    // The mocks got the calls, through the routers, from the platform certificate of SIT.
    let (_, received) = get_json(&format!(
        "{}/api/mocks/14/messages",
        mocks.endpoints().admin
    ))
    .await;
    assert_eq!(
        received["messages"].as_array().map(Vec::len),
        Some(2),
        "{received}"
    );

    // A new authorisation, not yet published: VP007 on both routers.
    let unauthorised_id = r1.endpoints().pki.unauthorised_hsa_id.clone();
    let a = client::post(
        &format!("{admin}/api/sit/orders"),
        authorise_order(&unauthorised_id).into_bytes(),
    )
    .await
    .unwrap();
    assert!(a.status.is_success(), "{}", a.json);
    for r in [&r1, &r2] {
        unauthorised_of(r)
            .post(sit_https(r), cervix_request("14"), &[])
            .await
            .unwrap()
            .vp("VP007");
    }
    // Publishing answers once both routers have reloaded, with each one's result.
    let published = publish_to_routers(&admin, 2).await;
    for r in [&r1, &r2] {
        assert_routed(r, &unauthorised_of(r)).await;
    }
    let (_, last) = get_json(&format!("{admin}/api/sit/routers")).await;
    assert_eq!(last["last"]["version"], published["version"], "{last}");

    // The order service stops: the routers keep routing from what they loaded, and a reset
    // says it reuses it.
    orders.shutdown().await;
    let reset = get_text(&format!("{r1_admin}/resetcache")).await;
    assert!(
        reset.contains("Will continue to use already loaded TAK data"),
        "{reset}"
    );
    assert_routed(&r1, &unauthorised_of(&r1)).await;
    let (_, s) = get_json(&format!("{r1_admin}/status")).await;
    assert!(
        s["TakCacheResetInfo"]
            .as_str()
            .unwrap()
            .contains("Status:REUSING_EXISTING_CACHE"),
        "{s}"
    );

    // Router 1 restarts while the order service is down: it starts from its local copy,
    // including the published authorisation.
    r1.shutdown().await;
    let r1 = start_node(router_config(d, "r1", r1_port, orders_port)).await;
    let (_, s) = get_json(&format!("{r1_admin}/status")).await;
    assert_eq!(s["TakCacheInitialized"], "true", "{s}");
    assert!(
        s["TakCacheResetInfo"]
            .as_str()
            .unwrap()
            .contains("Status:RESTORED_FROM_LOCAL_CACHE"),
        "{s}"
    );
    assert_routed(&r1, &unauthorised_of(&r1)).await;

    // A router with neither the order service nor a local copy: VP008, not ready.
    let r3 = start_node(router_config(d, "r3", free_port(), orders_port)).await;
    consumer_of(&r3)
        .post(sit_https(&r3), cervix_request("14"), &[])
        .await
        .unwrap()
        .vp("VP008");
    let r3_admin = r3.endpoints().admin.clone();
    let (ready, health) = get_json(&format!("{r3_admin}/health/ready")).await;
    assert_eq!(ready, 503, "{health}");
    let (_, s) = get_json(&format!("{r3_admin}/status")).await;
    assert_eq!(s["TakCacheInitialized"], "false", "{s}");

    // The order service comes back (same state directory: its journal): its first look at
    // the published TAK resets every router, and router 3 catches up.
    let orders_config = Config {
        cluster: ntjp_testbed::config::cluster::ClusterConfig {
            routers: vec![format!("http://{}", r3_admin.trim_start_matches("http://"))],
            ..orders_config.cluster.clone()
        },
        ..orders_config
    };
    let orders = start_node(orders_config).await;
    wait_for("router 3 loads TAK once the order service is back", || {
        let url = format!("{r3_admin}/health/ready");
        async move { get_json(&url).await.0 == 200 }
    })
    .await;
    assert_routed(&r3, &unauthorised_of(&r3)).await;
    for n in [orders, r1, r2, r3, mocks] {
        n.shutdown().await;
    }
}

#[tokio::test]
async fn a_router_node_refuses_what_is_not_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = start_node(router_config(d, "r", free_port(), free_port())).await;
    let admin = r.endpoints().admin.clone();
    // QA is not routed by this node.
    let a = client::get(&format!("{admin}/resetcache?env=qa"))
        .await
        .unwrap();
    assert_eq!(a.status.as_u16(), 404);
    assert!(a.json.to_string().contains("routes sit"), "{}", a.json);
    // The reset of an unreachable TAK says why, in VP's log shape.
    let reset = get_text(&format!("{admin}/resetcache?env=sit")).await;
    assert!(reset.starts_with("<br>"), "{reset}");
    assert!(
        reset.contains("Init done, was successful: false"),
        "{reset}"
    );
    // Its counters, in the Prometheus text format.
    let m = client::get(&format!("{admin}/metrics")).await.unwrap();
    assert_eq!(m.status.as_u16(), 200);
    assert!(
        m.json.as_str().is_some_and(|t| t.contains("# TYPE ntjp_")),
        "{}",
        m.json
    );
    // No order API on a router node.
    let a = client::get(&format!("{admin}/api/sit/orders"))
        .await
        .unwrap();
    assert_eq!(a.status.as_u16(), 404, "{}", a.json);
    r.shutdown().await;
}
