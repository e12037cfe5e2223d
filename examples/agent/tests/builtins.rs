//! The builtin modules as checks see them: rtloader's names, signatures, constants and error
//! messages, and what arrives in Rust.

mod common;

use common::{agent, metrics, scratch, setup};

const CHECK: &str = r#"
import sys
import aggregator, datadog_agent, util, _util, tagger, kubeutil, containers
from datadog_checks.base import AgentCheck


def raises(exc, text, f, *args, **kwargs):
    try:
        f(*args, **kwargs)
    except exc as e:
        assert text in str(e), "%r does not contain %r" % (str(e), text)
        return
    raise AssertionError("%s did not raise %s" % (f.__name__, exc.__name__))


class Probe(AgentCheck):
    def check(self, instance):
        for m in ("aggregator", "datadog_agent", "util", "_util", "tagger", "kubeutil", "containers"):
            assert m in sys.builtin_module_names, m
        assert (aggregator.GAUGE, aggregator.RATE, aggregator.COUNT, aggregator.MONOTONIC_COUNT,
                aggregator.COUNTER, aggregator.HISTOGRAM, aggregator.HISTORATE) == (0, 1, 2, 3, 4, 5, 6)
        assert (tagger.LOW, tagger.ORCHESTRATOR, tagger.HIGH) == (0, 1, 2)

        # aggregator, called directly the way AgentCheck calls it.
        cid = self.check_id
        aggregator.submit_metric(self, cid, aggregator.GAUGE, "probe.direct", 2.5, ["a:b", 7, None], "other-host", False)
        aggregator.submit_metric(self, cid, aggregator.MONOTONIC_COUNT, "probe.mono", 10, ("t:1",), "", True)
        raises(TypeError, "tags must be a sequence", aggregator.submit_metric, self, cid, 0, "x", 1.0, None, "")
        raises(ValueError, "unknown metric type 9", aggregator.submit_metric, self, cid, 9, "x", 1.0, [], "")
        raises(TypeError, "event must be a dict", aggregator.submit_event, self, cid, ["not", "a", "dict"])
        aggregator.submit_event(self, cid, {"msg_title": "t", "msg_text": "x", "timestamp": "bad", "tags": ["e:1"]})
        aggregator.submit_service_check(self, cid, "probe.up", 2, ["s:1"], "db-1", "down")
        aggregator.submit_histogram_bucket(self, cid, "probe.bucket", 4, 0.5, 1.5, True, "", ["b:1"], False)
        aggregator.submit_event_platform_event(self, cid, b'{"x": 1}', "dbm-samples")

        # datadog_agent
        assert datadog_agent.get_hostname() == "test-host"
        assert datadog_agent.get_clustername() == "test-cluster"
        assert datadog_agent.get_version().startswith("7.")
        assert datadog_agent.get_config("custom_setting") == {"nested": [1, 2]}
        assert datadog_agent.get_config("no_such_setting") is None
        assert datadog_agent.get_config("hostname") == "test-host"
        assert datadog_agent.tracemalloc_enabled() is False
        assert isinstance(datadog_agent.get_process_start_time(), float)
        h = datadog_agent.headers(None, http_host="example.com")
        assert h["User-Agent"].startswith("Datadog Agent/7."), h
        assert h["Host"] == "example.com"
        assert util.headers() == {k: v for k, v in h.items() if k != "Host"}
        raises(RuntimeError, "not supported by pyhost-agent", datadog_agent.obfuscate_sql, "select 1")
        raises(TypeError, "tags must be a list", datadog_agent.set_external_tags, ("h", {}))
        raises(TypeError, "must contain only tuples", datadog_agent.set_external_tags, [["h", {}]])
        raises(TypeError, "second elem of the host tags tuple must be a dict", datadog_agent.set_external_tags, [("h", [])])
        raises(TypeError, "dict value must be a list of tags", datadog_agent.set_external_tags, [("h", {"src": "x"})])
        self.set_external_tags([("vm-1", {"vsphere": ["role:db", "zone:a"]})])
        self.set_metadata("version", "1.2.3")

        # The persistent cache survives between runs (and agent restarts).
        previous = self.read_persistent_cache("runs")
        self.write_persistent_cache("runs", str(int(previous or "0") + 1))
        assert self.read_persistent_cache("runs") == str(int(previous or "0") + 1)
        datadog_agent.write_persistent_cache("../../escape/attempt", "x")
        self.gauge("probe.cache_runs", float(self.read_persistent_cache("runs")))

        # _util
        out, err, rc = _util.get_subprocess_output(["sh", "-c", "echo out; echo err >&2; exit 3"])
        assert (out, err, rc) == ("out\n", "err\n", 3), (out, err, rc)
        out, _, _ = _util.subprocess_output(["sh", "-c", "echo $PROBE"], False, env={"PROBE": "yes"})
        assert out == "yes\n", out
        raises(_util.SubprocessOutputEmptyError, "expected output but had none",
               _util.get_subprocess_output, ["true"], True)
        assert _util.SubprocessOutputEmptyError.__module__ == "_util"
        raises(TypeError, "command args is not a list", _util.get_subprocess_output, "echo hi")
        raises(TypeError, "invalid command: empty list", _util.get_subprocess_output, [])
        raises(TypeError, "command argument must be valid strings", _util.get_subprocess_output, ["echo", 1])
        raises(TypeError, "bad raise_on_empty argument: should be bool", _util.get_subprocess_output, ["true"], 1)
        raises(TypeError, "env is not a dict", _util.get_subprocess_output, ["true"], env=[])
        _, err, rc = _util.get_subprocess_output(["/nonexistent/binary"])
        # rc 127 with the reason; under qemu-user the child reports the failed exec as
        # exit status 127 itself, with nothing on stderr.
        assert rc == 127 and ("/nonexistent/binary" in err or err == ""), (err, rc)
        from datadog_checks.base.utils.subprocess_output import get_subprocess_output
        out, _, rc = get_subprocess_output("echo wrapped", self.log)
        assert (out, rc) == ("wrapped\n", 0)

        # tagger, kubeutil, containers
        assert tagger.tag("container_id://abc", tagger.HIGH) == []
        raises(TypeError, "Invalid cardinality", tagger.tag, "x", 5)
        assert kubeutil.get_connection_info() == {}
        assert containers.is_excluded("name", "image") is False

        # Logging at every level reaches the agent.
        self.log.debug("probe debug line")
        self.log.info("probe info line")
        self.log.error("probe error line")
        self.gauge("probe.done", 1, tags=["ok"])
"#;

#[test]
fn builtins_behave_as_rtloader_and_deliver_to_rust() {
    let dir = scratch("builtins");
    setup(
        &dir,
        "probe",
        CHECK,
        "init_config:\ninstances:\n  - name: main\n",
        "log_level: debug\ncustom_setting:\n  nested: [1, 2]\n",
    );
    for round in 1..=2 {
        let out = agent(&dir, &["--once", "--json"]);
        assert!(out.status.success(), "stderr:\n{}", out.stderr);
        let runs = out.runs_of("probe");
        let run = &runs[0];
        assert!(
            run["error"].is_null(),
            "the probe failed: {}\nstderr:\n{}",
            run["error"],
            out.stderr
        );
        let id = run["check_id"].as_str().unwrap();
        assert!(id.starts_with("probe:main:"), "{id}");

        let m = metrics(run);
        let find = |name: &str| {
            m.iter()
                .find(|x| x.0 == name)
                .unwrap_or_else(|| panic!("no {name}: {m:?}"))
        };
        let direct = find("probe.direct");
        assert_eq!((direct.1.as_str(), direct.2), ("gauge", 2.5));
        assert_eq!(direct.3, vec!["a:b".to_owned()], "non-str tags are skipped");
        assert_eq!(direct.4, "other-host");
        let mono = run["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "probe.mono")
            .unwrap();
        assert_eq!(mono["type"], "monotonic_count");
        assert_eq!(mono["flush_first_value"], true);
        assert_eq!(
            find("probe.cache_runs").2,
            f64::from(round),
            "the cache counts agent runs"
        );
        assert_eq!(find("probe.done").3, vec!["ok".to_owned()]);

        assert_eq!(run["events"][0]["title"], "t");
        assert_eq!(
            run["events"][0]["timestamp"], 0,
            "a bad timestamp means now"
        );
        assert_eq!(run["events"][0]["tags"][0], "e:1");
        let sc = &run["service_checks"][0];
        assert_eq!(
            (sc["name"].as_str(), sc["status"].as_i64()),
            (Some("probe.up"), Some(2))
        );
        assert_eq!(
            (sc["hostname"].as_str(), sc["message"].as_str()),
            (Some("db-1"), Some("down"))
        );
        let b = &run["histogram_buckets"][0];
        assert_eq!(
            (
                b["value"].as_i64(),
                b["lower_bound"].as_f64(),
                b["monotonic"].as_bool()
            ),
            (Some(4), Some(0.5), Some(true))
        );
        assert_eq!(run["platform_events"][0]["event_type"], "dbm-samples");
        assert_eq!(run["platform_events"][0]["raw"], "{\"x\": 1}");
        assert_eq!(run["external_tags"][0]["hostname"], "vm-1");
        assert_eq!(run["external_tags"][0]["source_type"], "vsphere");
        assert_eq!(run["external_tags"][0]["tags"][1], "zone:a");
        assert_eq!(run["metadata"][0]["value"], "1.2.3");

        let logs: Vec<(String, String)> = run["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["level"].as_str().unwrap().to_owned(),
                    l["message"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for (level, text) in [
            ("DEBUG", "probe debug line"),
            ("INFO", "probe info line"),
            ("ERROR", "probe error line"),
        ] {
            assert!(
                logs.iter()
                    .any(|(l, m)| l == level && m.starts_with(id) && m.ends_with(text)),
                "{level} {text} not in {logs:?}"
            );
        }
        assert!(
            out.stderr.contains("ERROR [python]") && out.stderr.contains("probe error line"),
            "{}",
            out.stderr
        );
    }
    // A key cannot name a path outside the cache directory.
    assert!(!dir.join("escape").exists());
    let cache = dir.join("run").join("persistent-cache");
    assert!(
        std::fs::read_dir(&cache)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains("%2F"))
    );
}

#[test]
fn broken_checks_are_load_errors_and_others_keep_running() {
    let dir = scratch("broken");
    setup(
        &dir,
        "good",
        "from datadog_checks.base import AgentCheck\nclass Good(AgentCheck):\n    def check(self, instance):\n        self.gauge('good.value', 1)\n",
        "instances:\n  - {}\n",
        "",
    );
    std::fs::write(dir.join("checks.d/syntax.py"), "def broken(:\n").unwrap();
    std::fs::write(dir.join("conf.d/syntax.yaml"), "instances:\n  - {}\n").unwrap();
    std::fs::write(dir.join("checks.d/noclass.py"), "X = 1\n").unwrap();
    std::fs::write(dir.join("conf.d/noclass.yaml"), "instances:\n  - {}\n").unwrap();
    std::fs::write(dir.join("conf.d/missing.yaml"), "instances:\n  - {}\n").unwrap();
    std::fs::write(dir.join("conf.d/badyaml.yaml"), "instances: [\n").unwrap();
    let out = agent(&dir, &["--once", "--json"]);
    assert!(out.status.success(), "stderr:\n{}", out.stderr);
    assert_eq!(metrics(&out.runs_of("good")[0])[0].0, "good.value");
    let syntax = &out.runs_of("syntax")[0]["error"];
    assert_eq!(syntax["kind"], "load error");
    assert!(
        syntax["message"]
            .as_str()
            .unwrap()
            .contains("unable to import module 'syntax'"),
        "{syntax}"
    );
    assert!(
        syntax["traceback"]
            .as_str()
            .unwrap()
            .contains("SyntaxError"),
        "{syntax}"
    );
    let noclass = &out.runs_of("noclass")[0]["error"];
    assert!(
        noclass["message"]
            .as_str()
            .unwrap()
            .contains("unable to find a subclass of the base check"),
        "{noclass}"
    );
    let missing = &out.runs_of("missing")[0]["error"];
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("No module named 'missing'"),
        "{missing}"
    );
    let problems = out.json()["config_errors"].clone();
    assert_eq!(problems[0]["check"], "badyaml", "{problems}");
}

const BAD_INPUT: &str = r#"
import aggregator
from datadog_checks.base import AgentCheck


class BadInputCheck(AgentCheck):
    def check(self, instance):
        case = instance["case"]
        if case == "nul":
            aggregator.submit_metric(self, self.check_id, aggregator.GAUGE, "bad\x00name", 1.0, [], "")
        elif case == "tags":
            aggregator.submit_metric(
                self, self.check_id, aggregator.GAUGE, "tagged", 1.0,
                [5, "ok:1", b"raw:2", "broken:\udcff", None], "",
            )
        elif case == "str_tags":
            aggregator.submit_metric(self, self.check_id, aggregator.GAUGE, "x", 1.0, "env:prod", "")
        elif case == "event":
            aggregator.submit_event(self, self.check_id, {"msg_title": 5, "tags": ["a"]})
        elif case == "empty_event":
            aggregator.submit_event(self, self.check_id, {"tags": ["a"]})
"#;

/// Bad input to the builtins (issue 17, item 8) is a clear error or a warning, never silent.
#[test]
fn bad_input_to_builtins_is_an_error_or_a_warning() {
    let dir = scratch("builtins-bad-input");
    let conf: String = ["nul", "tags", "str_tags", "event", "empty_event"]
        .iter()
        .map(|c| format!("  - case: {c}\n    name: {c}\n"))
        .collect();
    setup(
        &dir,
        "badinput",
        BAD_INPUT,
        &format!("init_config:\ninstances:\n{conf}"),
        "",
    );
    let out = agent(&dir, &["--config", "agent.yaml", "--once", "--json"]);
    assert!(out.status.success(), "{}", out.stderr);
    let runs = out.runs_of("badinput");
    let run = |case: &str| {
        runs.iter()
            .find(|r| {
                r["check_id"]
                    .as_str()
                    .unwrap()
                    .contains(&format!(":{case}:"))
            })
            .unwrap_or_else(|| panic!("no run of {case}"))
    };
    let error = |case: &str| {
        run(case)["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert!(
        error("nul").contains("control character '\\0'"),
        "{}",
        error("nul")
    );
    assert!(!out.stdout.contains('\0'));
    // Tags: the str and bytes ones kept, the surrogate repaired, the others dropped, each
    // said in the log.
    let tagged = run("tags");
    assert!(tagged["error"].is_null(), "{tagged}");
    assert_eq!(
        metrics(tagged)[0].3,
        ["ok:1", "raw:2", "broken:\u{fffd}"],
        "{tagged}"
    );
    assert!(
        out.stderr.contains("a tag of type int was dropped")
            && out.stderr.contains("a tag of type NoneType was dropped")
            && out.stderr.contains("lone surrogates"),
        "{}",
        out.stderr
    );
    assert!(
        error("str_tags").contains("tags must be a sequence (a list of str), not str"),
        "{}",
        error("str_tags")
    );
    assert!(
        error("event").contains("event[\"msg_title\"] must be a str, not int"),
        "{}",
        error("event")
    );
    assert!(
        error("empty_event").contains("needs a msg_title or a msg_text"),
        "{}",
        error("empty_event")
    );
}
