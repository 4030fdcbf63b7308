//! The one place that turns a [`PipelineFile`] into a `gst::Pipeline`:
//! elements made and configured, links checked and made. Every refusal is a
//! [`PipelineError`] pointing at the line it is about. Building has no side
//! effects beyond creating GStreamer objects, so `slate validate` uses it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use gst::glib;
use gst::prelude::*;

use crate::error::{Location, PipelineError, did_you_mean};
use crate::file::{ElementDecl, LinkChain, PipelineFile, Role, Step};
use crate::values::property_value;

/// A built, linked pipeline in the NULL state.
#[derive(Debug)]
pub struct Built {
    pub pipeline: gst::Pipeline,
    pub duration: Option<std::time::Duration>,
    origin: String,
    /// Where each declared element was declared, to point errors back.
    declared_at: HashMap<String, Option<Location>>,
}

impl Built {
    /// Gets ready to run: creates the folders outputs go to, then brings the
    /// pipeline to READY, where elements check their settings, open devices
    /// and create output files. A refusal is bad input naming the element's
    /// line. (`build` alone touches nothing, so validating is harmless.)
    pub fn prepare(&self) -> Result<(), PipelineError> {
        crate::run::prepare_outputs(&self.pipeline).map_err(|why| PipelineError::new(&self.origin, None, why))?;
        if self.pipeline.set_state(gst::State::Ready).is_ok() {
            return Ok(());
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        let bus = self.pipeline.bus().expect("a pipeline has a bus");
        let (element, why) = bus
            .iter()
            .find_map(|m| match m.view() {
                gst::MessageView::Error(e) => Some((
                    m.src().map(|s| s.name().to_string()).unwrap_or_default(),
                    match e.debug().as_deref().and_then(crate::run::debug_detail) {
                        Some(detail) => format!("{} ({detail})", e.error()),
                        None => e.error().to_string(),
                    },
                )),
                _ => None,
            })
            .unwrap_or_else(|| (String::new(), "an element refused its settings".into()));
        let at = self.declared_at.get(&element).copied().flatten();
        Err(PipelineError::new(
            &self.origin,
            at,
            format!("`{element}` refused to start: {why}"),
        ))
    }
}

/// Builds `file` into a pipeline.
pub fn build(file: &PipelineFile) -> Result<Built, PipelineError> {
    gst::init().map_err(|e| PipelineError::new(&file.origin, None, format!("GStreamer could not start: {e}")))?;
    let mut builder = Builder {
        file,
        pipeline: gst::Pipeline::new(),
        declared: HashMap::new(),
        anonymous: 0,
        awaiting_input: HashSet::new(),
    };
    for decl in &file.elements {
        let element = builder.make_declared(decl)?;
        builder.declared.insert(decl.name.clone(), (decl, element));
    }
    builder.check_graph()?;
    for chain in &file.links {
        builder.link_chain(chain)?;
    }
    builder.check_unlinked_pads()?;
    Ok(Built {
        pipeline: builder.pipeline,
        duration: file.duration,
        origin: file.origin.clone(),
        declared_at: file.elements.iter().map(|e| (e.name.clone(), e.at)).collect(),
    })
}

struct Builder<'f> {
    file: &'f PipelineFile,
    pipeline: gst::Pipeline,
    declared: HashMap<String, (&'f ElementDecl, gst::Element)>,
    anonymous: usize,
    /// Elements whose input is linked once an upstream pad appears.
    awaiting_input: HashSet<String>,
}

/// One end of a link: an element and, if the file named one, its pad.
struct End<'a> {
    element: gst::Element,
    label: String,
    pad: Option<&'a str>,
}

impl<'f> Builder<'f> {
    fn error(&self, at: Option<Location>, message: impl Into<String>) -> PipelineError {
        PipelineError::new(&self.file.origin, at, message)
    }

    fn find_factory(
        &self,
        name: &str,
        at: Option<Location>,
        context: &str,
    ) -> Result<gst::ElementFactory, PipelineError> {
        gst::ElementFactory::find(name).ok_or_else(|| {
            let factories = all_factory_names();
            let declared = self.file.elements.iter().map(|e| e.name.as_str());
            let hint = did_you_mean(name, factories.iter().map(String::as_str).chain(declared));
            self.error(
                at,
                format!("unknown element `{name}` {context}{hint}; `slate inspect` lists the installed ones"),
            )
        })
    }

    fn make_declared(&mut self, decl: &ElementDecl) -> Result<gst::Element, PipelineError> {
        let section = format!("[{}.{}]", decl.role.section(), decl.name);
        let factory = self.find_factory(&decl.factory, decl.at, &format!("in {section}"))?;
        self.check_role(decl, &factory, &section)?;
        let element_type = factory
            .load()
            .map_err(|e| {
                self.error(
                    decl.at,
                    format!("element `{}` in {section} could not be loaded: {e}", decl.factory),
                )
            })?
            .element_type();
        let class = glib::object::ObjectClass::from_type(element_type).expect("an element type has a class");
        let mut properties = Vec::new();
        for prop in &decl.properties {
            let context = format!("property `{}` of `{}` ({})", prop.name, decl.name, decl.factory);
            let Some(pspec) = class.find_property(&prop.name) else {
                let names: Vec<_> = class.list_properties().iter().map(|p| p.name().to_owned()).collect();
                let hint = did_you_mean(&prop.name, names.iter().map(String::as_str));
                return Err(self.error(
                    prop.at,
                    format!("{} has no property `{}`{hint}", decl.factory, prop.name),
                ));
            };
            if prop.name == "name" {
                return Err(self.error(
                    prop.at,
                    format!("{context}: the name comes from the table key {section}"),
                ));
            }
            if !pspec.flags().contains(glib::ParamFlags::WRITABLE) {
                return Err(self.error(prop.at, format!("{context} is read-only")));
            }
            let value =
                property_value(&prop.value, &pspec).map_err(|why| self.error(prop.at, format!("{context} {why}")))?;
            if decl.role == Role::Source {
                self.check_input_exists(prop)?;
            }
            properties.push((prop.name.as_str(), value));
        }
        let mut element = factory.create().name(&decl.name);
        for (name, value) in &properties {
            element = element.property(name, value.clone());
        }
        let element = element.build().map_err(|e| {
            self.error(
                decl.at,
                format!("could not create `{}` ({}): {e}", decl.name, decl.factory),
            )
        })?;
        self.pipeline
            .add(&element)
            .expect("names are unique, checked when reading");
        Ok(element)
    }

    /// A source reading a local file that is not there fails now, naming
    /// the file, rather than once the pipeline runs.
    fn check_input_exists(&self, prop: &crate::file::PropertyDecl) -> Result<(), PipelineError> {
        let crate::file::PropertyValue::Text(path) = &prop.value else {
            return Ok(());
        };
        let is_plain_path = prop.name == "location" && !path.contains("://") && !path.contains('%');
        if is_plain_path && !std::path::Path::new(path).exists() {
            return Err(self.error(
                prop.at,
                format!("input file `{path}` (property `location`) does not exist"),
            ));
        }
        Ok(())
    }

    fn check_role(
        &self,
        decl: &ElementDecl,
        factory: &gst::ElementFactory,
        section: &str,
    ) -> Result<(), PipelineError> {
        let has = |direction| {
            factory
                .static_pad_templates()
                .iter()
                .any(|t| t.direction() == direction)
        };
        let (takes_input, gives_output) = (has(gst::PadDirection::Sink), has(gst::PadDirection::Src));
        let belongs = match (takes_input, gives_output) {
            (false, _) => Role::Source,
            (true, false) => Role::Sink,
            (true, true) => Role::Stage,
        };
        if belongs == decl.role {
            return Ok(());
        }
        let what = match belongs {
            Role::Source => "takes no input",
            Role::Sink => "gives no output",
            Role::Stage => "both takes input and gives output",
        };
        Err(self.error(
            decl.at,
            format!(
                "{section}: `{}` {what}, so it is not a {}; declare it as [{}.{}]",
                decl.factory,
                decl.role.section(),
                belongs.section(),
                decl.name
            ),
        ))
    }

    /// Checks the element graph the links describe: every declared element
    /// used, sources never fed, sinks never feeding, no cycles.
    fn check_graph(&self) -> Result<(), PipelineError> {
        let mut edges: BTreeMap<&str, Vec<(&str, &LinkChain)>> = BTreeMap::new();
        let mut used = HashSet::new();
        for chain in &self.file.links {
            let names: Vec<Option<&str>> = chain
                .steps
                .iter()
                .map(|s| match s {
                    Step::Element { name, .. } if self.declared.contains_key(name) => Some(name.as_str()),
                    _ => None,
                })
                .collect();
            for (index, name) in names.iter().enumerate() {
                let Some(name) = name else { continue };
                used.insert(*name);
                let role = self.declared[*name].0.role;
                if role == Role::Source && index > 0 {
                    return Err(self.error(
                        chain.at,
                        format!(
                            "link `{}`: `{name}` is a source and takes no input; it can only start a link",
                            chain.text
                        ),
                    ));
                }
                if role == Role::Sink && index + 1 < names.len() {
                    return Err(self.error(
                        chain.at,
                        format!(
                            "link `{}`: `{name}` is a sink and gives no output; it can only end a link",
                            chain.text
                        ),
                    ));
                }
            }
            for pair in names.windows(2) {
                if let [Some(a), Some(b)] = pair {
                    edges.entry(a).or_default().push((b, chain));
                }
            }
        }
        if let Some(unused) = self.file.elements.iter().find(|e| !used.contains(e.name.as_str())) {
            return Err(self.error(
                unused.at,
                format!(
                    "`{}` is declared but no link uses it; add it to `links` or remove it",
                    unused.name
                ),
            ));
        }
        find_cycle(&edges).map_or(Ok(()), |(cycle, chain)| {
            Err(self.error(
                chain.at,
                format!("links form a cycle: {}; data must flow one way", cycle.join(" ! ")),
            ))
        })
    }

    fn link_chain(&mut self, chain: &LinkChain) -> Result<(), PipelineError> {
        let mut previous: Option<End> = None;
        for step in &chain.steps {
            let end = self.resolve(step, chain)?;
            if let Some(from) = previous.take() {
                self.link(from, &end, chain)?;
            }
            previous = Some(end);
        }
        Ok(())
    }

    /// The element a step stands for, made now if it is anonymous.
    fn resolve<'s>(&mut self, step: &'s Step, chain: &LinkChain) -> Result<End<'s>, PipelineError> {
        match step {
            Step::Element { name, pad } => {
                if let Some((_, element)) = self.declared.get(name) {
                    return Ok(End {
                        element: element.clone(),
                        label: name.clone(),
                        pad: pad.as_deref(),
                    });
                }
                if pad.is_some() {
                    return Err(self.error(
                        chain.at,
                        format!(
                            "link `{}`: `{name}` is not declared, so it has no pads to name; declare it to pick a pad",
                            chain.text
                        ),
                    ));
                }
                let factory = self.find_factory(name, chain.at, &format!("in link `{}`", chain.text))?;
                let element = self.add_anonymous(&factory)?;
                Ok(End {
                    element,
                    label: name.clone(),
                    pad: None,
                })
            }
            Step::Caps(text) => {
                let element = self.capsfilter(text, chain.at, &format!("in link `{}`", chain.text))?;
                Ok(End {
                    element,
                    label: text.clone(),
                    pad: None,
                })
            }
        }
    }

    fn add_anonymous(&mut self, factory: &gst::ElementFactory) -> Result<gst::Element, PipelineError> {
        self.anonymous += 1;
        let name = format!("{}-{}", factory.name(), self.anonymous);
        let element = factory
            .create()
            .name(&name)
            .build()
            .map_err(|e| self.error(None, format!("could not create `{}`: {e}", factory.name())))?;
        self.pipeline.add(&element).expect("anonymous names are unique");
        Ok(element)
    }

    fn capsfilter(&mut self, text: &str, at: Option<Location>, context: &str) -> Result<gst::Element, PipelineError> {
        let caps: gst::Caps = text.parse().map_err(|_| {
            self.error(
                at,
                format!("`{text}` {context} is not valid caps; write e.g. video/x-raw,width=1280,height=720"),
            )
        })?;
        let factory = gst::ElementFactory::find("capsfilter").expect("capsfilter is a core element");
        let filter = self.add_anonymous(&factory)?;
        filter.set_property("caps", &caps);
        Ok(filter)
    }

    /// Links `from` to `to`, through a caps filter when `from` declares caps.
    fn link(&mut self, from: End, to: &End, chain: &LinkChain) -> Result<(), PipelineError> {
        let caps = self.declared.get(&from.label).and_then(|(d, _)| d.caps.as_deref());
        let from = match caps {
            Some(caps) => {
                let decl_at = self.declared[&from.label].0.at;
                let filter = self.capsfilter(caps, decl_at, &format!("(caps of `{}`)", from.label))?;
                self.link_pads(
                    &from,
                    &End {
                        element: filter.clone(),
                        label: caps.to_owned(),
                        pad: None,
                    },
                    chain,
                )?;
                End {
                    element: filter,
                    label: from.label,
                    pad: None,
                }
            }
            None => from,
        };
        self.link_pads(&from, to, chain)
    }

    fn link_pads(&mut self, from: &End, to: &End, chain: &LinkChain) -> Result<(), PipelineError> {
        let fail = |why: String| {
            self.error(
                chain.at,
                format!(
                    "link `{}`: cannot link `{}` to `{}`: {why}",
                    chain.text, from.label, to.label
                ),
            )
        };
        let src_pad = match from.pad {
            Some(name) => Some(pad_named(&from.element, name, gst::PadDirection::Src).map_err(fail)?),
            None => None,
        };
        let sink_pad = match to.pad {
            Some(name) => Some(pad_named(&to.element, name, gst::PadDirection::Sink).map_err(fail)?),
            None => None,
        };
        if src_pad.is_none() && has_only_sometimes_outputs(&from.element) {
            link_when_pad_appears(&from.element, &to.element, sink_pad);
            self.awaiting_input.insert(to.element.name().to_string());
            return Ok(());
        }
        let linked = match (&src_pad, &sink_pad) {
            (Some(src), Some(sink)) => src.link(sink).map(|_| ()).map_err(|e| explain_pad_link(e, from, to)),
            _ => from
                .element
                .link_pads(
                    src_pad.as_ref().map(|p| p.name()).as_deref(),
                    &to.element,
                    sink_pad.as_ref().map(|p| p.name()).as_deref(),
                )
                .map_err(|_| explain_link_failure(from, to)),
        };
        linked.map_err(fail)
    }

    fn check_unlinked_pads(&self) -> Result<(), PipelineError> {
        for element in self.pipeline.children() {
            for pad in element.pads() {
                let always = pad
                    .pad_template()
                    .is_some_and(|t| t.presence() == gst::PadPresence::Always);
                let name = element.name();
                let awaited = pad.direction() == gst::PadDirection::Sink && self.awaiting_input.contains(name.as_str());
                if !always || pad.is_linked() || awaited {
                    continue;
                }
                let at = self.declared.get(name.as_str()).and_then(|(d, _)| d.at);
                let what = match pad.direction() {
                    gst::PadDirection::Src => format!(
                        "output pad `{}` of `{name}` is not linked to anything; continue it in `links` (or end it in a fakesink)",
                        pad.name()
                    ),
                    _ => format!(
                        "input pad `{}` of `{name}` has nothing linked into it; feed it in `links`",
                        pad.name()
                    ),
                };
                return Err(self.error(at, what));
            }
        }
        Ok(())
    }
}

/// A pad of `element` by name: an existing pad, or one requested from a
/// template (`sink_%u` or a concrete `sink_0`).
fn pad_named(element: &gst::Element, name: &str, direction: gst::PadDirection) -> Result<gst::Pad, String> {
    if let Some(pad) = element.static_pad(name).filter(|p| p.direction() == direction) {
        return Ok(pad);
    }
    if let Some(pad) = element.request_pad_simple(name).filter(|p| p.direction() == direction) {
        return Ok(pad);
    }
    let templates: Vec<String> = element
        .pad_template_list()
        .iter()
        .filter(|t| t.direction() == direction)
        .map(|t| t.name_template().to_string())
        .collect();
    let kind = if direction == gst::PadDirection::Src {
        "output"
    } else {
        "input"
    };
    Err(format!(
        "`{}` has no {kind} pad `{name}`{}; its {kind} pads: {}",
        element.name(),
        did_you_mean(name, templates.iter().map(String::as_str)),
        if templates.is_empty() {
            "none".to_owned()
        } else {
            templates.join(", ")
        }
    ))
}

fn has_only_sometimes_outputs(element: &gst::Element) -> bool {
    let templates = element.pad_template_list();
    let outputs: Vec<_> = templates
        .iter()
        .filter(|t| t.direction() == gst::PadDirection::Src)
        .collect();
    !outputs.is_empty()
        && outputs.iter().all(|t| t.presence() == gst::PadPresence::Sometimes)
        && element.src_pads().is_empty()
}

/// For demuxers and decodebins: links the first fitting pad once it exists,
/// as gst-launch-1.0 does.
fn link_when_pad_appears(from: &gst::Element, to: &gst::Element, sink_pad: Option<gst::Pad>) {
    let to = to.downgrade();
    let handler: Arc<Mutex<Option<glib::SignalHandlerId>>> = Arc::default();
    let slot = handler.clone();
    let id = from.connect_pad_added(move |from, pad| {
        let Some(to) = to.upgrade() else { return };
        let sink = match &sink_pad {
            Some(sink) => Some(sink.clone()),
            None => to.compatible_pad(pad, pad.current_caps().as_ref()),
        };
        if let Some(sink) = sink.filter(|s| !s.is_linked())
            && pad.link(&sink).is_ok()
        {
            tracing::debug!("linked {}.{} to {}.{}", from.name(), pad.name(), to.name(), sink.name());
            if let Some(id) = slot.lock().unwrap().take() {
                from.disconnect(id);
            }
        }
    });
    *handler.lock().unwrap() = Some(id);
}

fn explain_pad_link(error: gst::PadLinkError, from: &End, to: &End) -> String {
    match error {
        gst::PadLinkError::WasLinked => {
            "that pad is already linked; each pad links once (a `tee` feeds several)".into()
        }
        gst::PadLinkError::Noformat => explain_link_failure(from, to),
        other => format!("GStreamer refused the link ({other:?})"),
    }
}

/// Why two elements would not link: no free pad, or formats that never meet.
fn explain_link_failure(from: &End, to: &End) -> String {
    let free_output = from.element.src_pads().iter().any(|p| !p.is_linked())
        || from
            .element
            .pad_template_list()
            .iter()
            .any(|t| t.direction() == gst::PadDirection::Src && t.presence() == gst::PadPresence::Request);
    if !free_output {
        return format!(
            "`{}` already sends its only output elsewhere; declare a `tee` stage to feed several elements",
            from.label
        );
    }
    let out = output_caps(&from.element);
    let input = input_caps(&to.element);
    if !out.can_intersect(&input) {
        return format!(
            "`{}` outputs {} but `{}` takes {}; put a converter, encoder or decoder between them",
            from.label,
            media_types(&out),
            to.label,
            media_types(&input)
        );
    }
    format!(
        "`{}` has no free input that fits; name a pad (`{}.PAD`) or check `slate inspect`",
        to.label, to.label
    )
}

fn output_caps(element: &gst::Element) -> gst::Caps {
    union_caps(element, gst::PadDirection::Src)
}

fn input_caps(element: &gst::Element) -> gst::Caps {
    union_caps(element, gst::PadDirection::Sink)
}

fn union_caps(element: &gst::Element, direction: gst::PadDirection) -> gst::Caps {
    let mut caps = gst::Caps::new_empty();
    for pad in element.pads().iter().filter(|p| p.direction() == direction) {
        caps.merge(pad.query_caps(None));
    }
    for template in element
        .pad_template_list()
        .iter()
        .filter(|t| t.direction() == direction && t.presence() != gst::PadPresence::Always)
    {
        caps.merge(template.caps().clone());
    }
    caps
}

/// `video/x-raw, audio/x-raw` style summary of caps for messages.
fn media_types(caps: &gst::Caps) -> String {
    if caps.is_any() {
        return "anything".into();
    }
    let mut names: Vec<String> = caps.iter().map(|s| s.name().to_string()).collect();
    names.dedup();
    let more = names.len() > 4;
    names.truncate(4);
    format!("{}{}", names.join(", "), if more { ", ..." } else { "" })
}

fn all_factory_names() -> Vec<String> {
    gst::Registry::get()
        .features(gst::ElementFactory::static_type())
        .iter()
        .map(|f| f.name().to_string())
        .collect()
}

/// The first cycle in `edges`, as the names along it and the chain closing it.
fn find_cycle<'a>(edges: &BTreeMap<&'a str, Vec<(&'a str, &'a LinkChain)>>) -> Option<(Vec<&'a str>, &'a LinkChain)> {
    fn visit<'a>(
        node: &'a str,
        edges: &BTreeMap<&'a str, Vec<(&'a str, &'a LinkChain)>>,
        path: &mut Vec<&'a str>,
        done: &mut HashSet<&'a str>,
    ) -> Option<(Vec<&'a str>, &'a LinkChain)> {
        path.push(node);
        for (next, chain) in edges.get(node).into_iter().flatten() {
            if let Some(start) = path.iter().position(|n| n == next) {
                let mut cycle = path[start..].to_vec();
                cycle.push(next);
                return Some((cycle, chain));
            }
            if !done.contains(next)
                && let Some(found) = visit(next, edges, path, done)
            {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node);
        None
    }
    let mut done = HashSet::new();
    edges.keys().find_map(|node| {
        if done.contains(node) {
            return None;
        }
        visit(node, edges, &mut Vec::new(), &mut done)
    })
}
