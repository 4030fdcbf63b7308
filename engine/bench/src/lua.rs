//! Lua stage hooks: calls per second, and bus event to callback latency.

use std::time::Instant;

use gst::prelude::*;

/// Calls of `process(buf)` per second through the same path `luastage` uses.
pub fn run(seconds: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        seconds > 0.0 && seconds.is_finite(),
        "--seconds must be a positive number"
    );
    let budget = std::time::Duration::from_secs_f64(seconds);
    let cases = [
        ("trivial hook", "function process(buf) end"),
        (
            "read pts, set one field",
            "function process(buf) buf:set('shot', buf.pts > 1 and 's2' or 's1') end",
        ),
        (
            "read a field, set two",
            "function process(buf) local t = buf:get('take') or 0 buf:set('take', t + 1) buf:set('seen', true) end",
        ),
    ];
    println!("Lua stage hooks (Lua 5.4, sandboxed, instruction budget on), {seconds} s per case");
    println!("{:<28} {:>14} {:>12}", "", "calls/s", "µs/call");
    for (name, source) in cases {
        let mut script = slate_lua::Script::from_source(
            "bench.lua",
            source,
            std::path::Path::new("."),
            slate_lua::Limits::default(),
        )?;
        let mut record = slate_meta::Record::default();
        record.set("take", 1i64);
        let mut buffer = slate_lua::Buffer::new(Some(2_000_000_000), Some(33_333_333), record);
        let started = Instant::now();
        let mut calls = 0u64;
        while started.elapsed() < budget {
            for _ in 0..1000 {
                script.process(&mut buffer)?;
            }
            calls += 1000;
        }
        let per_second = calls as f64 / started.elapsed().as_secs_f64();
        println!("{name:<28} {per_second:>14.0} {:>12.2}", 1e6 / per_second);
    }
    event_latency(budget)
}

/// Time from an element posting a bus message to the automation script's
/// `slate.on` callback running, measured by the script with `slate.clock()`.
fn event_latency(budget: std::time::Duration) -> anyhow::Result<()> {
    const SCRIPT: &str = r#"
        local seen = {}
        slate.on("element-message", function(name, fields)
          if name == "bench" then seen[#seen + 1] = slate.clock() - fields.sent end
        end)
        function unload()
          table.sort(seen)
          events = #seen
          local sum = 0 for _, l in ipairs(seen) do sum = sum + l end
          mean = sum / #seen
          p50 = seen[math.ceil(#seen * 0.50)]
          p99 = seen[math.ceil(#seen * 0.99)]
          worst = seen[#seen]
        end
    "#;
    let pipeline = slate_pipeline::launch("videotestsrc is-live=true ! fakesink")?;
    let options = slate_lua::Options {
        main: Some(pipeline.clone()),
        ..slate_lua::Options::default()
    };
    let mut automation = slate_lua::Automation::from_source("bench.lua", SCRIPT, std::path::Path::new("."), options)?;
    let sender = std::thread::spawn(move || {
        let started = Instant::now();
        while started.elapsed() < budget {
            let sent = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            let structure = gst::Structure::builder("bench").field("sent", sent).build();
            let _ = pipeline.post_message(gst::message::Element::builder(structure).src(&pipeline).build());
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    });
    automation.run(Some(budget + std::time::Duration::from_millis(200)))?;
    sender
        .join()
        .map_err(|_| anyhow::anyhow!("the message thread panicked"))?;
    let get = |name: &str| automation.number(name).unwrap_or(f64::NAN);
    println!(
        "event -> callback latency ({} bus messages, one every 2 ms): mean {:.1} µs, p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        get("events"),
        get("mean") * 1e6,
        get("p50") * 1e6,
        get("p99") * 1e6,
        get("worst") * 1e6
    );
    Ok(())
}
