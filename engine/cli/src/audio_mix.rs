//! `slate audio mix`: stems from files through `stemmix` into an MP4 with
//! the mixdown and one named track per stem, and the stems as WAV/FLAC
//! files on request.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use gst::prelude::*;
use serde::Serialize;

use crate::Failure;

#[derive(clap::Args)]
pub struct MixArgs {
    /// A stem: NAME=FILE (any audio GStreamer decodes); repeat for each.
    #[arg(long = "stem", value_name = "NAME=FILE", required = true)]
    stems: Vec<String>,
    /// Per-stem mix settings, as stemmix's `stems` property:
    /// "dialogue: vad=true; music: gain=-6, duck=12, duck-key=dialogue".
    #[arg(long, default_value = "")]
    settings: String,
    /// The MP4 to write: track 1 the mix, then one track per stem.
    #[arg(short, long)]
    output: PathBuf,
    /// Also write each stem to DIR/NAME.wav (or .flac).
    #[arg(long, value_name = "DIR")]
    stems_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "wav")]
    stem_format: StemFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum StemFormat {
    Wav,
    Flac,
}

#[derive(Serialize)]
struct Report {
    output: PathBuf,
    tracks: Vec<String>,
    stems: Vec<StemReport>,
}

#[derive(Serialize)]
struct StemReport {
    name: String,
    input: PathBuf,
    rate: u32,
    channels: u32,
    integrated_lufs: Option<f64>,
    file: Option<PathBuf>,
}

pub fn mix(args: MixArgs) -> Result<(), Failure> {
    let bad = |e: anyhow::Error| Failure::BadInput(e);
    let mut stems: Vec<StemReport> = Vec::new();
    for stem in &args.stems {
        let (name, file) = stem
            .split_once('=')
            .ok_or_else(|| anyhow!("--stem `{stem}`: write NAME=FILE, e.g. --stem music=bed.wav"))
            .map_err(bad)?;
        if !gstslate::stemmix::valid_stem_name(name) {
            return Err(bad(anyhow!("--stem `{stem}`: a stem name is letters, digits, - and _")));
        }
        if stems.iter().any(|s| s.name == name) {
            return Err(bad(anyhow!("--stem `{name}` is given twice")));
        }
        let loudness = slate_audio::measure_file(Path::new(file))
            .with_context(|| format!("stem `{name}`"))
            .map_err(bad)?;
        let extension = match args.stem_format {
            StemFormat::Wav => "wav",
            StemFormat::Flac => "flac",
        };
        stems.push(StemReport {
            name: name.to_owned(),
            input: PathBuf::from(file),
            rate: loudness.rate,
            channels: loudness.channels,
            integrated_lufs: loudness.integrated_lufs,
            file: args.stems_dir.as_ref().map(|d| d.join(format!("{name}.{extension}"))),
        });
    }
    gstslate::stemmix::parse_stems(&args.settings).map_err(|why| bad(anyhow!("--settings: {why}")))?;
    if args.output.extension().and_then(|e| e.to_str()) != Some("mp4") {
        return Err(bad(anyhow!("{}: the mix is written as .mp4", args.output.display())));
    }
    if let Some(dir) = &args.stems_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--stems-dir {}", dir.display()))
            .map_err(bad)?;
    }
    let name = args.output.file_name().and_then(|n| n.to_str()).unwrap_or("mix.mp4");
    let partial = args.output.with_file_name(format!(".{name}.partial.mp4"));
    run(&stems, &args, &partial).map_err(Failure::Runtime)?;
    let mut tracks = vec!["mix".to_owned()];
    tracks.extend(stems.iter().map(|s| s.name.clone()));
    let names: Vec<&str> = tracks.iter().map(String::as_str).collect();
    slate_audio::name_tracks(&partial, &names).map_err(|e| Failure::Runtime(e.into()))?;
    std::fs::rename(&partial, &args.output)
        .with_context(|| args.output.display().to_string())
        .map_err(Failure::Runtime)?;
    let report = Report {
        output: args.output.clone(),
        tracks,
        stems,
    };
    crate::out(&serde_json::to_string_pretty(&report).map_err(|e| Failure::Runtime(e.into()))?);
    Ok(())
}

/// Builds and plays the mixing pipeline into `partial`.
fn run(stems: &[StemReport], args: &MixArgs, partial: &Path) -> anyhow::Result<()> {
    let aac = "audioconvert ! audioresample ! audio/x-raw,rate=48000 ! avenc_aac bitrate=192000 ! aacparse";
    let mut line = format!("stemmix name=mix ! {aac} ! mux.audio_0 mp4mux name=mux ! filesink name=out ");
    for (i, stem) in stems.iter().enumerate() {
        let n = &stem.name;
        line += &format!(
            "filesrc name=src-{n} ! decodebin ! tee name=t-{n} \
             t-{n}. ! queue ! mix.{n} \
             t-{n}. ! queue ! taginject tags=\"title={n}\" ! {aac} ! mux.audio_{} ",
            i + 1
        );
        if let Some(file) = &stem.file {
            let encoder = if file.extension().is_some_and(|e| e == "flac") {
                "flacenc"
            } else {
                "audio/x-raw,format=S24LE ! wavenc"
            };
            line += &format!("t-{n}. ! queue ! audioconvert ! {encoder} ! filesink name=file-{n} ");
        }
    }
    let pipeline = gst::parse::launch(&line)
        .with_context(|| format!("building the mix: {line}"))?
        .downcast::<gst::Pipeline>()
        .expect("a launch line of several elements is a pipeline");
    let set = |element: &str, value: &Path| -> anyhow::Result<()> {
        let text = value
            .to_str()
            .ok_or_else(|| anyhow!("{}: not a UTF-8 path", value.display()))?;
        pipeline
            .by_name(element)
            .expect("named above")
            .set_property("location", text);
        Ok(())
    };
    pipeline
        .by_name("mix")
        .expect("named above")
        .set_property("stems", &args.settings);
    set("out", partial)?;
    for stem in stems {
        set(&format!("src-{}", stem.name), &stem.input)?;
        if let Some(file) = &stem.file {
            set(&format!("file-{}", stem.name), file)?;
        }
    }
    let outcome = slate_audio::play_to_end(&pipeline, |_| {}).map_err(|s| anyhow!("{}: {}", s.element, s.message));
    pipeline.set_state(gst::State::Null)?;
    if outcome.is_err() {
        let _ = std::fs::remove_file(partial);
    }
    outcome
}
