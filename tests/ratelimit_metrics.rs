//! The Prometheus text exposes every counter, and its values match the calls made.

use runspace_gateway::clock::{Clock, FakeClock};
use runspace_gateway::config::RateLimitRule;
use runspace_gateway::invocation::{Command, Invocation, Protocol};
use runspace_gateway::metrics::{
    Decision, Metrics, MetricsOptions, UpstreamErrorKind, CONTENT_TYPE, OTHER_LABEL,
};
use runspace_gateway::policy::RateCheck;
use runspace_gateway::ratelimit::RateLimiter;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Series name plus sorted `key=value` labels, mapped to the sample value.
type Samples = BTreeMap<String, f64>;

/// Parse the exposition: every non-comment line is `name{k="v",...} value`.
fn parse(text: &str) -> Samples {
    let mut out = Samples::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let mut pairs: Vec<String> = labels
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| p.replace('"', ""))
            .collect();
        pairs.sort();
        let key = format!("{name}{{{}}}", pairs.join(","));
        assert!(
            out.insert(key, value.parse().unwrap()).is_none(),
            "duplicate series: {line}"
        );
    }
    out
}

fn get(samples: &Samples, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no series {series} in {samples:#?}"))
}

fn invocation(cmdlets: &[&str]) -> Invocation {
    Invocation {
        principal: "alice@contoso.com".into(),
        protocol: Protocol::Rest,
        tenant: None,
        shell_id: None,
        command_id: None,
        statements: vec![cmdlets
            .iter()
            .map(|c| Command {
                name: c.to_string(),
                module: None,
                params: vec![],
                positional: vec![],
                is_script: false,
                has_script_block: false,
            })
            .collect()],
    }
}

#[test]
fn counters_gauges_and_histograms_match_the_calls_made() {
    let m = Metrics::new(MetricsOptions::default());
    for _ in 0..3 {
        m.request(Protocol::Rest, Decision::Allow);
    }
    m.request(Protocol::Winrm, Decision::Deny);
    m.invocation(
        &invocation(&["Get-Mailbox", "get-mailbox"]),
        Decision::Allow,
    );
    m.cmdlet_decision("Set-Mailbox", Decision::Deny);
    let iex = invocation(&["iex", "Microsoft.PowerShell.Utility\\Invoke-Expression"]);
    m.invocation(&iex, Decision::Deny);
    m.gateway_added(Protocol::Rest, Duration::from_millis(2));
    m.gateway_added(Protocol::Rest, Duration::from_millis(3));
    m.upstream_time(Protocol::Winrm, Duration::from_millis(40));
    m.upstream_error(UpstreamErrorKind::Timeout);
    m.set_active_grants(7);
    m.set_pending_requests(2);
    m.audit_write(Duration::from_micros(250));
    m.config_reload(true);
    m.config_reload(false);
    m.config_reload(false);

    let text = m.render();
    assert!(
        text.ends_with("# EOF\n"),
        "a complete OpenMetrics exposition"
    );
    assert!(CONTENT_TYPE.starts_with("application/openmetrics-text"));
    let s = parse(&text);
    let p = "runspace_gateway_";
    assert_eq!(
        get(
            &s,
            &format!("{p}requests_total{{decision=allow,front_door=rest}}")
        ),
        3.0
    );
    assert_eq!(
        get(
            &s,
            &format!("{p}requests_total{{decision=deny,front_door=winrm}}")
        ),
        1.0
    );
    assert_eq!(
        get(
            &s,
            &format!("{p}cmdlet_decisions_total{{cmdlet=get-mailbox,decision=allow}}")
        ),
        2.0
    );
    assert_eq!(
        get(
            &s,
            &format!("{p}cmdlet_decisions_total{{cmdlet=set-mailbox,decision=deny}}")
        ),
        1.0
    );
    let iex_series = format!("{p}cmdlet_decisions_total{{cmdlet=invoke-expression,decision=deny}}");
    assert_eq!(
        get(&s, &iex_series),
        2.0,
        "an alias and a qualified name count under the cmdlet they resolve to"
    );
    assert_eq!(
        get(
            &s,
            &format!("{p}added_latency_seconds_count{{front_door=rest}}")
        ),
        2.0
    );
    assert!(
        (get(
            &s,
            &format!("{p}added_latency_seconds_sum{{front_door=rest}}")
        ) - 0.005)
            .abs()
            < 1e-9
    );
    assert_eq!(
        get(
            &s,
            &format!("{p}upstream_latency_seconds_count{{front_door=winrm}}")
        ),
        1.0
    );
    assert_eq!(
        get(&s, &format!("{p}upstream_errors_total{{kind=timeout}}")),
        1.0
    );
    assert_eq!(get(&s, &format!("{p}active_grants{{}}")), 7.0);
    assert_eq!(get(&s, &format!("{p}pending_requests{{}}")), 2.0);
    assert_eq!(get(&s, &format!("{p}audit_write_seconds_count{{}}")), 1.0);
    assert_eq!(
        get(&s, &format!("{p}audit_write_seconds_bucket{{le=0.0002}}")),
        0.0
    );
    assert_eq!(
        get(&s, &format!("{p}audit_write_seconds_bucket{{le=0.0004}}")),
        1.0,
        "250 µs"
    );
    assert_eq!(
        get(&s, &format!("{p}config_reloads_total{{result=ok}}")),
        1.0
    );
    assert_eq!(
        get(&s, &format!("{p}config_reloads_total{{result=error}}")),
        2.0
    );
}

#[test]
fn throttles_by_rule_match_the_limiters_refusals() {
    #[derive(serde::Deserialize)]
    struct Rules {
        ratelimit: Vec<RateLimitRule>,
    }
    let rules: Rules =
        toml::from_str("[[ratelimit]]\nname = \"per-user\"\nkey = \"principal\"\nper_minute = 2\n")
            .unwrap();
    let clock = FakeClock::new(0);
    let metrics = Metrics::default();
    let limiter = RateLimiter::new(&rules.ratelimit, Arc::new(clock.clone()))
        .unwrap()
        .with_metrics(metrics.clone());
    let inv = invocation(&["Get-User"]);
    let refused = (0..7)
        .filter(|_| limiter.check(&inv, clock.now_ms()).is_err())
        .count();
    assert_eq!(refused, 5);
    let s = parse(&metrics.render());
    assert_eq!(
        get(
            &s,
            "runspace_gateway_ratelimit_throttles_total{rule=per-user}"
        ),
        5.0
    );
}

#[test]
fn cmdlet_labels_stop_at_the_cap_and_the_rest_count_as_other() {
    let m = Metrics::new(MetricsOptions {
        known_cmdlets: vec!["New-MailboxExportRequest".into()],
        max_cmdlet_labels: Some(2),
    });
    for name in [
        "Get-A",
        "Get-B",
        "Get-C",
        "Get-D",
        "Get-C",
        "New-MailboxExportRequest",
    ] {
        m.cmdlet_decision(name, Decision::Allow);
    }
    m.cmdlet_decision("Get-A\"} 99\ninjected 1", Decision::Allow);
    let s = parse(&m.render());
    let series: Vec<_> = s
        .keys()
        .filter(|k| k.contains("cmdlet_decisions"))
        .collect();
    assert_eq!(
        series.len(),
        4,
        "two learned, one known, and other: {series:?}"
    );
    let c = |name: &str| {
        get(
            &s,
            &format!("runspace_gateway_cmdlet_decisions_total{{cmdlet={name},decision=allow}}"),
        )
    };
    assert_eq!(c("get-a"), 1.0);
    assert_eq!(c("get-b"), 1.0);
    assert_eq!(
        c("new-mailboxexportrequest"),
        1.0,
        "known names never hit the cap"
    );
    assert_eq!(
        c(OTHER_LABEL),
        4.0,
        "Get-C twice, Get-D, and the unsafe name"
    );
}
