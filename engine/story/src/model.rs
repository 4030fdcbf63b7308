//! What a storyboard says. Units: metres (y is up), seconds, degrees,
//! kelvin; colours `#rrggbb`.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storyboard {
    pub storyboard: Header,
    pub world: World,
    #[serde(default, rename = "scene")]
    pub scenes: Vec<Scene>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub title: String,
    #[serde(default = "default_fps")]
    pub fps: u32,
    /// Frame size, pixels.
    #[serde(default = "default_size")]
    pub size: [u32; 2],
    /// Seeds what the storyboard leaves free (texture grain, idle motion).
    #[serde(default)]
    pub seed: u64,
}

fn default_fps() -> u32 {
    25
}

fn default_size() -> [u32; 2] {
    [1280, 720]
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    pub set: Set,
    #[serde(default, rename = "prop")]
    pub props: Vec<Prop>,
    #[serde(default, rename = "character")]
    pub characters: Vec<Character>,
    #[serde(default, rename = "light")]
    pub lights: Vec<Light>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Set {
    /// Floor width (x) and depth (z), centred on the origin.
    pub floor: [f64; 2],
    #[serde(default = "grey")]
    pub floor_colour: String,
    #[serde(default = "sky")]
    pub background: String,
}

fn grey() -> String {
    "#808080".into()
}

fn sky() -> String {
    "#202830".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    Box,
    Sphere,
    Cylinder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Material {
    Matte,
    Wood,
    Metal,
    Glass,
    Plastic,
    Ceramic,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prop {
    pub id: String,
    pub shape: Shape,
    /// Centre of the base.
    pub position: [f64; 3],
    /// Width, height, depth.
    pub size: [f64; 3],
    pub colour: String,
    #[serde(default = "matte")]
    pub material: Material,
    /// kg; 0 keeps it fixed when physics is on.
    #[serde(default)]
    pub mass: f64,
}

fn matte() -> Material {
    Material::Matte
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Character {
    pub id: String,
    pub position: [f64; 3],
    #[serde(default = "height")]
    pub height: f64,
    pub colour: String,
    /// A consent registry identity: the person who plays them (a cameo).
    pub identity: Option<String>,
}

fn height() -> f64 {
    1.75
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LightRole {
    Key,
    Fill,
    Back,
    Practical,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Light {
    pub id: String,
    pub role: LightRole,
    pub position: [f64; 3],
    /// 0 (off) to 10.
    pub intensity: f64,
    #[serde(default = "daylight")]
    pub temperature_k: f64,
}

fn daylight() -> f64 {
    5600.0
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    pub id: String,
    #[serde(default, rename = "shot")]
    pub shots: Vec<Shot>,
}

/// How a shot's clock follows the previous shot's.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeLink {
    /// Starts where the previous shot ended.
    Continuous,
    /// Starts this many seconds after the previous shot ended.
    Jump(f64),
    /// Starts at 0 with the world as the storyboard first set it.
    Reset,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shot {
    pub id: String,
    pub duration: f64,
    #[serde(default = "continuous")]
    pub time: TimeLink,
    pub camera: Camera,
    /// Gravity for props with mass: one let go (placed, moved, or left
    /// in the air when the shot starts) falls until it rests on the
    /// floor or the top of a prop under it.
    #[serde(default)]
    pub physics: bool,
    /// Deliberately crosses the 180-degree line.
    #[serde(default)]
    pub crosses_line: bool,
    #[serde(default)]
    pub lighting: Vec<LightCue>,
    #[serde(default)]
    pub blocking: Vec<Blocking>,
    #[serde(default, rename = "action")]
    pub actions: Vec<Action>,
    #[serde(default)]
    pub audio: Vec<AudioCue>,
}

fn continuous() -> TimeLink {
    TimeLink::Continuous
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Move {
    Static,
    Dolly,
    Pan,
    Tilt,
    Orbit,
    Crane,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ease {
    Linear,
    In,
    Out,
    InOut,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Camera {
    pub position: [f64; 3],
    pub target: [f64; 3],
    /// Vertical field of view, degrees.
    #[serde(default = "fov")]
    pub fov: f64,
    #[serde(default = "still", rename = "move")]
    pub motion: Move,
    /// Where the move ends: a position (dolly, crane), a target (pan,
    /// tilt), or for an orbit the degrees around the target.
    pub to: Option<[f64; 3]>,
    pub degrees: Option<f64>,
    #[serde(default = "in_out")]
    pub ease: Ease,
}

fn fov() -> f64 {
    40.0
}

fn still() -> Move {
    Move::Static
}

fn in_out() -> Ease {
    Ease::InOut
}

/// A light's level and colour from `at` seconds into the shot; with
/// `until`, a fade to them from what the light was at `at` (time of day
/// passing: a sunset, a cloud).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LightCue {
    pub light: String,
    #[serde(default)]
    pub at: f64,
    pub until: Option<f64>,
    pub intensity: Option<f64>,
    pub temperature_k: Option<f64>,
}

/// Where a character stands, or walks: marks `[t, x, z]` in shot time.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Blocking {
    pub character: String,
    pub path: Vec<[f64; 3]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verb {
    PickUp,
    Place,
    Move,
    Appear,
    Vanish,
    Recolour,
}

impl Verb {
    /// As storyboards spell it.
    pub fn name(self) -> &'static str {
        match self {
            Verb::PickUp => "pick-up",
            Verb::Place => "place",
            Verb::Move => "move",
            Verb::Appear => "appear",
            Verb::Vanish => "vanish",
            Verb::Recolour => "recolour",
        }
    }
}

/// Something that changes the world, at `at` seconds (to `until`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub at: f64,
    pub verb: Verb,
    pub object: String,
    /// The character who does it.
    pub by: Option<String>,
    /// place / move: where it ends (base centre).
    pub to: Option<[f64; 3]>,
    /// move: when it arrives.
    pub until: Option<f64>,
    /// recolour: the new colour.
    pub colour: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CueKind {
    Line,
    Music,
    Effect,
    Ambience,
}

/// A sound on a named stem: a dialogue line, a music bed, an effect (on
/// the frame of an action when `action` names one), an ambience.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioCue {
    pub stem: String,
    pub kind: CueKind,
    #[serde(default)]
    pub at: f64,
    /// Line: the words, and who says them.
    pub text: Option<String>,
    pub by: Option<String>,
    /// Effect: the index of the action in this shot it belongs to.
    pub action: Option<usize>,
    /// Gain, dB.
    #[serde(default)]
    pub gain: f64,
}
