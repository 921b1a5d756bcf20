//! The report model serialises with serde: `Analyzer::analyze` returns the
//! whole model, and `serde_json::to_value(&report)` gives it with the names
//! and values the EVE output uses.

use std::path::PathBuf;

use telltale::{Analyzer, Report};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn redmi() -> Report {
    let text = std::fs::read_to_string(root().join("docs/device-profile.example.toml")).unwrap();
    let profile = telltale::detect::DeviceProfile::from_toml(&text).unwrap();
    let report = Analyzer::builder()
        .threads(1)
        .identifiers(Some(&profile))
        .build()
        .analyze([root().join("fixtures/redmi-1s-2014.pcap")])
        .unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    report
}

#[test]
fn report_serialises_with_real_values() {
    let report = redmi();
    let v = serde_json::to_value(&report).unwrap();

    assert_eq!(v["tool_version"], report.tool_version.as_str());
    assert_eq!(v["failures"], serde_json::json!([]));
    assert_eq!(v["geo_databases"][0]["name"], "telltale-default");

    let captures = v["captures"].as_array().unwrap();
    assert_eq!(captures.len(), 1);
    let c = &captures[0];
    assert!(
        c["path"]
            .as_str()
            .unwrap()
            .ends_with("fixtures/redmi-1s-2014.pcap"),
        "{}",
        c["path"]
    );
    assert_eq!(c["format"], "pcap");
    assert_eq!(c["gzip"], false);
    assert_eq!(c["packets"], 48);
    // Timestamps are RFC 3339 strings with microseconds, as in EVE.
    assert_eq!(c["span"][0], "2014-07-30T10:05:00.000000Z");
    // Link types key an object by their display name.
    assert_eq!(c["link_types"]["ETHERNET (1)"], 48);
    assert!(c["decode"]["unsupported_links"].is_object());
    assert!(c["decode"]["defrag"]["fragments"].is_u64());
    assert!(c["flow_table"]["flows"].as_u64().unwrap() > 0);

    // The flow to Xiaomi's account server: named by its SNI, located in
    // China by the embedded database.
    let flows = c["flows"].as_array().unwrap();
    let xiaomi = flows
        .iter()
        .find(|f| f["server_name"]["name"] == "api.account.xiaomi.com")
        .expect("a flow to api.account.xiaomi.com");
    assert!(
        ["tls_sni", "http_host"].contains(&xiaomi["server_name"]["source"].as_str().unwrap()),
        "{}",
        xiaomi["server_name"]
    );
    assert_eq!(xiaomi["server_location"]["scope"], "public");
    assert_eq!(xiaomi["server_location"]["geo"]["country_code"], "CN");
    assert_eq!(
        xiaomi["server_location"]["geo"]["db"],
        serde_json::json!(["telltale-default"])
    );
    assert_eq!(xiaomi["client_location"]["scope"], "private");
    let summary = &xiaomi["summary"];
    assert_eq!(summary["info"]["proto"], "TCP");
    assert!(summary["info"]["id"].is_u64());
    assert!(
        summary["info"]["server"]
            .as_str()
            .unwrap()
            .ends_with(":443")
            || summary["info"]["server"].as_str().unwrap().ends_with(":80")
    );
    assert!(
        summary["start"]
            .as_str()
            .unwrap()
            .starts_with("2014-07-30T")
    );
    assert!(summary["reason"].is_string());
    assert!(summary["to_server"]["packets"].as_u64().unwrap() > 0);
    assert!(summary["to_server"]["stream"]["delivered"].is_u64());
    assert!(xiaomi["app_proto"] == "tls" || xiaomi["app_proto"] == "http");

    // The IMEI the POST in packet 6 carried, with its names as in EVE.
    let ids = c["identifiers"].as_array().unwrap();
    let imei = ids
        .iter()
        .find(|i| i["kind"] == "imei")
        .expect("an IMEI finding");
    assert_eq!(imei["frame"], 6);
    assert_eq!(imei["value"], "865123456789019");
    assert_eq!(imei["encoding"], "plain");
    assert_eq!(imei["source"], "known");
    assert_eq!(imei["confidence"], "high");
    assert_eq!(imei["location"], "http.body.form:imei");
    assert!(imei["ts"].as_str().unwrap().starts_with("2014-07-30T"));
    let imei_flow = imei["flow"].as_u64().unwrap();
    assert!(
        flows
            .iter()
            .any(|f| f["summary"]["info"]["id"].as_u64() == Some(imei_flow))
    );

    // Events are externally tagged by kind; HTTP carries EVE's field names,
    // header values as text, and no body bytes.
    let events = c["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["kind"]["dns"]["flavor"] == "dns"));
    let http = events
        .iter()
        .find(|e| e["frame"] == 6)
        .and_then(|e| e["kind"].get("http"))
        .expect("the HTTP POST of packet 6");
    assert_eq!(http["http_method"], "POST");
    assert!(http["url"].is_string());
    assert!(http["request_headers"][0][1].is_string());
    assert!(http["request_body_len"].as_u64().unwrap() > 0);
    assert!(http.get("request_body").is_none());
}

#[test]
fn serialising_twice_gives_the_same_text() {
    let report = redmi();
    let a = serde_json::to_string(&report).unwrap();
    let b = serde_json::to_string(&report).unwrap();
    assert_eq!(a, b);
    // And a second analysis of the same capture gives the same text too.
    assert_eq!(a, serde_json::to_string(&redmi()).unwrap());
}
