//! `slate inspect`: what an element is, its pads and its properties.

use std::fmt::Write;

use anyhow::anyhow;
use gst::glib;
use gst::prelude::*;

use crate::Failure;

pub fn inspect(element: Option<&str>, all: bool) -> Result<(), Failure> {
    match element {
        Some(name) => {
            let factory = gst::ElementFactory::find(name).ok_or_else(|| {
                let names = factory_names(true);
                let hint = slate_pipeline::did_you_mean(name, names.iter().map(String::as_str));
                Failure::BadInput(anyhow!(
                    "unknown element `{name}`{hint}; `slate inspect --all` lists them"
                ))
            })?;
            print!("{}", describe(&factory).map_err(Failure::Runtime)?);
        }
        None => {
            println!("Slate elements:");
            for name in factory_names(false) {
                let factory = gst::ElementFactory::find(&name).expect("listed from the registry");
                println!(
                    "  {name:<12} {}",
                    factory.metadata(gst::ELEMENT_METADATA_DESCRIPTION).unwrap_or_default()
                );
            }
            if all {
                println!("\nAll installed elements:");
                for name in factory_names(true) {
                    println!("  {name}");
                }
            } else {
                println!("\n`slate inspect --all` lists every installed element; `slate inspect NAME` describes one.");
            }
        }
    }
    Ok(())
}

/// Element names, sorted: only the `slate` plugin's, or all.
fn factory_names(all: bool) -> Vec<String> {
    let mut names: Vec<String> = gst::Registry::get()
        .features(gst::ElementFactory::static_type())
        .iter()
        .filter(|f| all || f.plugin_name().as_deref() == Some("slate"))
        .map(|f| f.name().to_string())
        .collect();
    names.sort();
    names
}

fn describe(factory: &gst::ElementFactory) -> anyhow::Result<String> {
    let mut out = String::new();
    let meta = |key| factory.metadata(key).unwrap_or_default().to_string();
    writeln!(out, "{} — {}", factory.name(), meta(gst::ELEMENT_METADATA_LONGNAME))?;
    writeln!(out, "  {}", meta(gst::ELEMENT_METADATA_DESCRIPTION))?;
    writeln!(out, "  class: {}", meta(gst::ELEMENT_METADATA_KLASS))?;
    writeln!(out, "  plugin: {}", factory.plugin_name().unwrap_or_default())?;
    writeln!(out, "\nPads:")?;
    for template in factory.static_pad_templates() {
        let direction = if template.direction() == gst::PadDirection::Src {
            "output"
        } else {
            "input"
        };
        writeln!(
            out,
            "  {} ({direction}, {:?}): {}",
            template.name_template(),
            template.presence(),
            template.caps()
        )?;
    }
    let element = factory.create().build()?;
    writeln!(out, "\nProperties:")?;
    for pspec in element.list_properties() {
        if pspec.owner_type() == gst::Object::static_type() {
            continue; // `name` and `parent` are set by the pipeline itself.
        }
        let flags = pspec.flags();
        let access = match (
            flags.contains(glib::ParamFlags::READABLE),
            flags.contains(glib::ParamFlags::WRITABLE),
        ) {
            (true, false) => "read-only",
            (false, true) => "write-only",
            _ => "read/write",
        };
        writeln!(
            out,
            "  {:<22} {} ({access}) default: {}{}",
            pspec.name(),
            pspec.value_type().name(),
            show_default(&pspec),
            range(&pspec)
        )?;
        writeln!(out, "      {}", pspec.blurb().unwrap_or_default())?;
    }
    Ok(out)
}

fn show_default(pspec: &glib::ParamSpec) -> String {
    let value = pspec.default_value();
    if let Ok(Some(text)) = value.get::<Option<String>>() {
        return format!("\"{text}\"");
    }
    if let Some((_, v)) = glib::EnumValue::from_value(value) {
        return v.nick().to_owned();
    }
    value
        .serialize()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "none".into())
}

fn range(pspec: &glib::ParamSpec) -> String {
    macro_rules! span {
        ($($t:ty),*) => {$(
            if let Some(p) = pspec.downcast_ref::<$t>() {
                return format!(", range {}..={}", p.minimum(), p.maximum());
            }
        )*};
    }
    span!(
        glib::ParamSpecInt,
        glib::ParamSpecUInt,
        glib::ParamSpecInt64,
        glib::ParamSpecUInt64,
        glib::ParamSpecFloat,
        glib::ParamSpecDouble
    );
    if let Some(class) = glib::EnumClass::with_type(pspec.value_type()) {
        let nicks: Vec<&str> = class.values().iter().map(|v| v.nick()).collect();
        return format!(", one of: {}", nicks.join(", "));
    }
    String::new()
}
