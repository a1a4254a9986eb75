//! MJCF → body description, with pybullet's conventions.
//!
//! pybullet's MJCF importer ignores `density`, `armature`, `damping` and `gear`: every geom gets
//! density 1000, capsule inertia is the box inertia of the shape's world-aligned AABB grown by
//! Bullet's 0.04 collision margin, and the sphere gets the solid-sphere inertia. We reproduce that
//! here so that a user-edited file gives the masses pybullet would give it.
//!
//! Only the subset the Ant files use is supported (spheres, capsules given by `fromto` or by
//! `pos`+`size` along z, hinge joints, translated bodies); anything else is an error naming the
//! file and the element, never a silent approximation.

use std::path::Path;

use rapier3d::math::Vector;

/// Bullet's default collision margin, which its MJCF importer adds to each capsule AABB.
const BULLET_MARGIN: f32 = 0.04;
/// pybullet's MJCF importer uses this density whatever the file says.
const DENSITY: f32 = 1000.0;

/// Errors from reading a morphology.
#[derive(Debug, thiserror::Error)]
pub enum MorphologyError {
    /// The file could not be read.
    #[error("cannot read morphology file {file}: {source}")]
    Io {
        /// File path.
        file: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The XML is malformed.
    #[error("{file}: invalid XML: {source}")]
    Xml {
        /// File path or built-in name.
        file: String,
        /// Underlying error.
        source: roxmltree::Error,
    },
    /// The XML is well-formed but does not describe a supported quadruped.
    #[error("{file}: {msg}")]
    Invalid {
        /// File path or built-in name.
        file: String,
        /// What is wrong.
        msg: String,
    },
    /// Unknown built-in name.
    #[error("unknown morphology `{0}` (built-in: intact, right_damaged, left_damaged)")]
    UnknownBuiltin(String),
}

/// A collision primitive, in body-local coordinates of the part that owns it.
#[derive(Clone, Debug, PartialEq)]
pub enum Geom {
    /// Sphere.
    Sphere {
        /// Centre.
        center: Vector,
        /// Radius.
        radius: f32,
    },
    /// Capsule between two segment end points.
    Capsule {
        /// First end point.
        a: Vector,
        /// Second end point.
        b: Vector,
        /// Radius.
        radius: f32,
    },
}

impl Geom {
    /// Mass, centre of mass and diagonal inertia (about the CoM, axes of the zero pose) as pybullet computes them.
    pub fn bullet_mass_properties(&self) -> (f32, Vector, Vector) {
        use std::f32::consts::PI;
        match *self {
            Geom::Sphere { center, radius } => {
                let m = DENSITY * 4.0 / 3.0 * PI * radius.powi(3);
                let i = 0.4 * m * radius * radius;
                (m, center, Vector::splat(i))
            }
            Geom::Capsule { a, b, radius } => {
                let len = (b - a).length();
                let vol = 4.0 / 3.0 * PI * radius.powi(3) + PI * radius * radius * len;
                let m = DENSITY * vol;
                // Full AABB extents plus the margin on both sides.
                let ext = (b - a).abs() + Vector::splat(2.0 * radius + 2.0 * BULLET_MARGIN);
                let (x2, y2, z2) = (ext.x * ext.x, ext.y * ext.y, ext.z * ext.z);
                let i = Vector::new(y2 + z2, x2 + z2, x2 + y2) * (m / 12.0);
                (m, (a + b) * 0.5, i)
            }
        }
    }

    /// The same geom moved by `offset`.
    fn shifted(&self, offset: Vector) -> Geom {
        match *self {
            Geom::Sphere { center, radius } => Geom::Sphere {
                center: center + offset,
                radius,
            },
            Geom::Capsule { a, b, radius } => Geom::Capsule {
                a: a + offset,
                b: b + offset,
                radius,
            },
        }
    }
}

/// One rigid part (torso or a leg link): geoms in the part's frame and merged mass properties.
///
/// The part frame has the world orientation of the zero pose; its origin is the torso centre for
/// the torso and the joint pivot for a link.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// Collision geoms in the part frame.
    pub geoms: Vec<Geom>,
    /// Total mass (kg).
    pub mass: f32,
    /// Centre of mass in the part frame.
    pub com: Vector,
    /// Inertia tensor about the CoM, part axes (row-major 3×3; diagonal for the shipped files).
    pub inertia: [[f32; 3]; 3],
    /// Points of pybullet's `parts` dict that move with this part (link CoMs and massless pivot
    /// links), in the part frame: they make up the "body position" used for the target distance.
    pub part_points: Vec<Vector>,
    /// Lateral friction of the part's geoms (MJCF `friction`, first value).
    pub friction: f32,
}

impl Part {
    fn from_geoms(geoms: Vec<Geom>, part_points: Vec<Vector>, friction: f32) -> Part {
        let mut mass = 0.0;
        let mut mc = Vector::ZERO;
        let props: Vec<_> = geoms.iter().map(|g| g.bullet_mass_properties()).collect();
        for (m, c, _) in &props {
            mass += m;
            mc += *c * *m;
        }
        let com = if mass > 0.0 { mc / mass } else { Vector::ZERO };
        let mut inertia = [[0.0f32; 3]; 3];
        for (m, c, i) in &props {
            let r = *c - com;
            let r = [r.x, r.y, r.z];
            let d = [i.x, i.y, i.z];
            let r2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
            for row in 0..3 {
                for col in 0..3 {
                    let delta = if row == col { 1.0 } else { 0.0 };
                    inertia[row][col] += delta * d[row] + m * (delta * r2 - r[row] * r[col]);
                }
            }
        }
        Part {
            geoms,
            mass,
            com,
            inertia,
            part_points,
            friction,
        }
    }
}

/// A hinge joint as written in the file (axis not normalised: pybullet keeps its length).
#[derive(Clone, Debug, PartialEq)]
pub struct Hinge {
    /// Joint name from the file.
    pub name: String,
    /// Pivot in the parent part's frame.
    pub pivot_in_parent: Vector,
    /// Axis exactly as given (length matters: see the ankle-axis quirk in the spec).
    pub axis_raw: Vector,
    /// Limit range [lo, hi] in radians.
    pub range: [f32; 2],
}

impl Hinge {
    /// |axis| as written: pybullet's motion subspace uses this length, its rotation does not.
    pub fn axis_scale(&self) -> f32 {
        self.axis_raw.length()
    }

    /// Unit axis.
    pub fn axis_unit(&self) -> Vector {
        self.axis_raw / self.axis_raw.length()
    }
}

/// One leg: hip hinge on the torso, thigh, ankle hinge, shin (the "foot" for contact flags).
#[derive(Clone, Debug, PartialEq)]
pub struct Leg {
    /// Hip joint (parent: torso).
    pub hip: Hinge,
    /// Thigh part; frame origin at the hip pivot.
    pub thigh: Part,
    /// Ankle joint (parent: thigh).
    pub ankle: Hinge,
    /// Shin part; frame origin at the ankle pivot.
    pub shin: Part,
}

/// A quadruped body: torso plus four two-joint legs in action order.
#[derive(Clone, Debug, PartialEq)]
pub struct Morphology {
    name: String,
    /// Torso centre in the world at reset.
    pub torso_pos: Vector,
    /// Torso part (sphere plus the fixed aux capsules), frame origin at the torso body origin.
    pub torso: Part,
    /// Legs in XML tree order = action order.
    pub legs: [Leg; 4],
}

const INTACT_XML: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/morphologies/ant.xml"
));
const RIGHT_XML: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/morphologies/ant_asym_right.xml"
));
const LEFT_XML: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/morphologies/ant_asym_left.xml"
));

/// Names accepted by [`Morphology::builtin`].
pub const BUILTIN_NAMES: [&str; 3] = ["intact", "right_damaged", "left_damaged"];

impl Morphology {
    /// A shipped morphology: `intact` (AntBulletEnv-v0), `right_damaged` (front-right shin at a
    /// quarter, seen in training) or `left_damaged` (front-left, unseen).
    pub fn builtin(name: &str) -> Result<Self, MorphologyError> {
        let xml = match name {
            "intact" => INTACT_XML,
            "right_damaged" => RIGHT_XML,
            "left_damaged" => LEFT_XML,
            other => return Err(MorphologyError::UnknownBuiltin(other.to_string())),
        };
        Self::from_mjcf_str(name, &format!("<built-in {name}>"), xml)
    }

    /// A built-in morphology by name, a damaged shin (`leg1_shin_0.75`, see
    /// [`super::Damage::from_name`]), or an MJCF file when the name ends in `.xml` (the one rule
    /// configs, `eval --variants` and `replay --morphology` share).
    pub fn by_name_or_file(name: &str) -> Result<Self, MorphologyError> {
        if Self::is_file_name(name) {
            Self::from_mjcf_file(name)
        } else if let Some(damage) = super::Damage::from_name(name) {
            damage
                .map_err(|msg| MorphologyError::Invalid {
                    file: format!("<{name}>"),
                    msg,
                })?
                .morphology()
        } else {
            Self::builtin(name)
        }
    }

    /// Whether a variant name names an MJCF file rather than a built-in morphology.
    pub fn is_file_name(name: &str) -> bool {
        name.ends_with(".xml")
    }

    /// The MJCF text of the intact ant (pybullet_data's `mjcf/ant.xml`).
    pub fn intact_mjcf() -> &'static str {
        INTACT_XML
    }

    /// Loads any MJCF file of the supported subset; the name is the file stem.
    pub fn from_mjcf_file(path: impl AsRef<Path>) -> Result<Self, MorphologyError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text =
            crate::limits::read_text_capped(path, crate::limits::MAX_TEXT_INPUT_BYTES, "MJCF file")
                .map_err(|source| MorphologyError::Io {
                    file: file.clone(),
                    source,
                })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.clone());
        Self::from_mjcf_str(&name, &file, &text)
    }

    /// Parses MJCF text; `file` is only used in error messages.
    pub fn from_mjcf_str(name: &str, file: &str, text: &str) -> Result<Self, MorphologyError> {
        let doc = roxmltree::Document::parse(text).map_err(|source| MorphologyError::Xml {
            file: file.to_string(),
            source,
        })?;
        Loader::new(file, &doc)?.load(name)
    }

    /// Morphology name (built-in name or file stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Total mass in kg.
    pub fn total_mass(&self) -> f32 {
        self.torso.mass
            + self
                .legs
                .iter()
                .map(|l| l.thigh.mass + l.shin.mass)
                .sum::<f32>()
    }

    /// Joints in action order: hip_1, ankle_1, …, hip_4, ankle_4.
    pub fn joints(&self) -> [&Hinge; 8] {
        std::array::from_fn(|j| {
            let leg = &self.legs[j / 2];
            if j % 2 == 0 { &leg.hip } else { &leg.ankle }
        })
    }
}

/// Body collected from the XML tree before it is folded into parts.
struct RawLink {
    parent: usize,
    hinge: Hinge,
    geoms: Vec<Geom>,
    points: Vec<Vector>,
    friction: Option<f32>,
    xml_name: String,
}

struct Loader<'a, 'i> {
    file: &'a str,
    doc: &'a roxmltree::Document<'i>,
    degrees: bool,
    default_friction: f32,
}

fn parse_floats(s: &str) -> Option<Vec<f32>> {
    s.split_whitespace()
        .map(|t| t.parse::<f32>().ok())
        .collect()
}

impl<'a, 'i> Loader<'a, 'i> {
    fn new(file: &'a str, doc: &'a roxmltree::Document<'i>) -> Result<Self, MorphologyError> {
        let mut l = Loader {
            file,
            doc,
            degrees: true,
            default_friction: 1.0,
        };
        let root = doc.root_element();
        if root.tag_name().name() != "mujoco" {
            return Err(l.err(format!(
                "root element is <{}>, expected <mujoco>",
                root.tag_name().name()
            )));
        }
        for c in root.children().filter(|n| n.is_element()) {
            match c.tag_name().name() {
                "compiler" => {
                    if let Some(a) = c.attribute("angle") {
                        l.degrees = match a {
                            "degree" => true,
                            "radian" => false,
                            o => return Err(l.err(format!("<compiler angle=\"{o}\"> unsupported"))),
                        };
                    }
                    if let Some(cs) = c.attribute("coordinate")
                        && cs != "local"
                    {
                        return Err(l.err(format!(
                            "<compiler coordinate=\"{cs}\"> unsupported (only local)"
                        )));
                    }
                }
                "default" => {
                    for g in c.descendants().filter(|n| n.has_tag_name("geom")) {
                        if let Some(f) = g.attribute("friction") {
                            l.default_friction = l.first_float(f, "default geom friction")?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(l)
    }

    fn err(&self, msg: String) -> MorphologyError {
        MorphologyError::Invalid {
            file: self.file.to_string(),
            msg,
        }
    }

    fn first_float(&self, s: &str, what: &str) -> Result<f32, MorphologyError> {
        parse_floats(s)
            .and_then(|v| v.first().copied())
            .ok_or_else(|| self.err(format!("{what}: cannot parse `{s}` as numbers")))
    }

    fn vec3(
        &self,
        node: roxmltree::Node,
        attr: &str,
        default: Vector,
    ) -> Result<Vector, MorphologyError> {
        match node.attribute(attr) {
            None => Ok(default),
            Some(s) => match parse_floats(s).as_deref() {
                Some([x, y, z]) => Ok(Vector::new(*x, *y, *z)),
                _ => Err(self.err(format!(
                    "{} `{}`: attribute {attr}=\"{s}\" must be 3 numbers",
                    node.tag_name().name(),
                    node.attribute("name").unwrap_or("?")
                ))),
            },
        }
    }

    fn describe(node: roxmltree::Node) -> String {
        format!(
            "<{}{}> (line {})",
            node.tag_name().name(),
            node.attribute("name")
                .map(|n| format!(" name=\"{n}\""))
                .unwrap_or_default(),
            node.document().text_pos_at(node.range().start).row
        )
    }

    fn geom(&self, g: roxmltree::Node, offset: Vector) -> Result<Geom, MorphologyError> {
        let ty = g.attribute("type").unwrap_or("sphere");
        let size = g
            .attribute("size")
            .map(|s| {
                parse_floats(s).ok_or_else(|| self.err(format!("{}: bad size", Self::describe(g))))
            })
            .transpose()?
            .unwrap_or_default();
        let radius = *size
            .first()
            .ok_or_else(|| self.err(format!("{}: missing size", Self::describe(g))))?;
        if radius <= 0.0 || !radius.is_finite() {
            return Err(self.err(format!("{}: radius must be positive", Self::describe(g))));
        }
        for attr in ["quat", "euler", "axisangle", "xyaxes", "zaxis"] {
            if g.attribute(attr).is_some() {
                return Err(self.err(format!(
                    "{}: attribute `{attr}` unsupported",
                    Self::describe(g)
                )));
            }
        }
        let geom = match ty {
            "sphere" => Geom::Sphere {
                center: self.vec3(g, "pos", Vector::ZERO)?,
                radius,
            },
            "capsule" => {
                if let Some(ft) = g.attribute("fromto") {
                    match parse_floats(ft).as_deref() {
                        Some([a0, a1, a2, b0, b1, b2]) => Geom::Capsule {
                            a: Vector::new(*a0, *a1, *a2),
                            b: Vector::new(*b0, *b1, *b2),
                            radius,
                        },
                        _ => {
                            return Err(self
                                .err(format!("{}: fromto must be 6 numbers", Self::describe(g))));
                        }
                    }
                } else {
                    let half = *size.get(1).ok_or_else(|| {
                        self.err(format!(
                            "{}: capsule needs fromto or size=\"radius half_length\"",
                            Self::describe(g)
                        ))
                    })?;
                    let c = self.vec3(g, "pos", Vector::ZERO)?;
                    Geom::Capsule {
                        a: c - Vector::Z * half,
                        b: c + Vector::Z * half,
                        radius,
                    }
                }
            }
            other => {
                return Err(self.err(format!(
                    "{}: geom type `{other}` unsupported (sphere and capsule only)",
                    Self::describe(g)
                )));
            }
        };
        Ok(geom.shifted(offset))
    }

    /// Walks one <body>. `offset` = this body's origin in the frame of `part` (the raw link it
    /// belongs to: 0 = torso, i+1 = hinge link i).
    fn walk(
        &self,
        body: roxmltree::Node,
        parent_part: usize,
        parent_offset: Vector,
        links: &mut Vec<RawLink>,
        torso: &mut RawLink,
    ) -> Result<(), MorphologyError> {
        for attr in ["quat", "euler", "axisangle", "xyaxes", "zaxis"] {
            if body.attribute(attr).is_some() {
                return Err(self.err(format!(
                    "{}: body rotation (`{attr}`) unsupported",
                    Self::describe(body)
                )));
            }
        }
        let pos = self.vec3(body, "pos", Vector::ZERO)?;
        let joints: Vec<_> = body
            .children()
            .filter(|n| n.has_tag_name("joint"))
            .filter(|j| j.attribute("type") != Some("free"))
            .collect();
        let (part, offset) = match joints.as_slice() {
            [] => (parent_part, parent_offset + pos),
            [j] => {
                let ty = j.attribute("type").unwrap_or("hinge");
                if ty != "hinge" {
                    return Err(self.err(format!(
                        "{}: joint type `{ty}` unsupported (hinge only)",
                        Self::describe(*j)
                    )));
                }
                let jpos = self.vec3(*j, "pos", Vector::ZERO)?;
                let axis_raw = self.vec3(*j, "axis", Vector::Z)?;
                if axis_raw.length().is_nan() || axis_raw.length() <= 1e-6 {
                    return Err(self.err(format!("{}: zero axis", Self::describe(*j))));
                }
                let range = j
                    .attribute("range")
                    .ok_or_else(|| self.err(format!("{}: missing range", Self::describe(*j))))?;
                let range = match parse_floats(range).as_deref() {
                    Some([lo, hi]) if lo < hi => {
                        let k = if self.degrees {
                            std::f32::consts::PI / 180.0
                        } else {
                            1.0
                        };
                        [lo * k, hi * k]
                    }
                    _ => {
                        return Err(self.err(format!(
                            "{}: range must be two increasing numbers",
                            Self::describe(*j)
                        )));
                    }
                };
                let pivot_in_parent = parent_offset + pos + jpos;
                links.push(RawLink {
                    parent: parent_part,
                    hinge: Hinge {
                        name: j.attribute("name").unwrap_or("?").to_string(),
                        pivot_in_parent,
                        axis_raw,
                        range,
                    },
                    geoms: Vec::new(),
                    points: Vec::new(),
                    friction: None,
                    xml_name: body.attribute("name").unwrap_or("?").to_string(),
                });
                let idx = links.len();
                // The massless pybullet link sits at the pivot: a "part" point of the new link.
                links[idx - 1].points.push(Vector::ZERO);
                // Body origin relative to the pivot.
                (idx, -jpos)
            }
            _ => {
                return Err(self.err(format!(
                    "{}: more than one joint in a body is unsupported",
                    Self::describe(body)
                )));
            }
        };
        let mut geoms = Vec::new();
        let mut friction = None;
        for g in body.children().filter(|n| n.has_tag_name("geom")) {
            geoms.push(self.geom(g, offset)?);
            if let Some(f) = g.attribute("friction") {
                friction = Some(self.first_float(f, &Self::describe(g))?);
            }
        }
        if !geoms.is_empty() {
            // Each MJCF body with geoms is one pybullet link: its CoM is a part point.
            let p = Part::from_geoms(geoms.clone(), vec![], 1.0);
            let target = if part == 0 {
                &mut *torso
            } else {
                &mut links[part - 1]
            };
            target.points.push(p.com);
            target.geoms.extend(geoms);
            if friction.is_some() {
                target.friction = friction;
            }
        }
        for child in body.children().filter(|n| n.has_tag_name("body")) {
            self.walk(child, part, offset, links, torso)?;
        }
        Ok(())
    }

    fn load(&self, name: &str) -> Result<Morphology, MorphologyError> {
        let root = self.doc.root_element();
        let world = root
            .children()
            .find(|n| n.has_tag_name("worldbody"))
            .ok_or_else(|| self.err("no <worldbody>".into()))?;
        let bodies: Vec<_> = world
            .children()
            .filter(|n| n.has_tag_name("body"))
            .collect();
        let torso_node = match bodies.as_slice() {
            [b] => *b,
            _ => {
                return Err(self.err(format!(
                    "<worldbody> must hold exactly one <body> (the torso), found {}",
                    bodies.len()
                )));
            }
        };
        if torso_node
            .children()
            .any(|n| n.has_tag_name("joint") && n.attribute("type") != Some("free"))
        {
            return Err(self.err(format!(
                "{}: the torso is the floating base and cannot have a hinge",
                Self::describe(torso_node)
            )));
        }
        let torso_pos = self.vec3(torso_node, "pos", Vector::ZERO)?;
        let mut torso = RawLink {
            parent: usize::MAX,
            hinge: Hinge {
                name: String::new(),
                pivot_in_parent: Vector::ZERO,
                axis_raw: Vector::Z,
                range: [0.0, 0.0],
            },
            geoms: Vec::new(),
            points: Vec::new(),
            friction: None,
            xml_name: torso_node.attribute("name").unwrap_or("torso").to_string(),
        };
        let mut links = Vec::new();
        // The torso body's own offset is its world position: parts use torso-centred frames.
        self.walk_torso(torso_node, &mut links, &mut torso)?;
        if torso.geoms.is_empty() {
            return Err(self.err("the torso has no geoms".into()));
        }
        if links.len() != 8 {
            return Err(self.err(format!(
                "expected 8 hinge joints (4 legs × hip, ankle), found {}",
                links.len()
            )));
        }
        self.check_joint_names_and_motors(&links)?;
        let mut legs = Vec::with_capacity(4);
        for k in 0..4 {
            let (hip, ankle) = (&links[2 * k], &links[2 * k + 1]);
            if hip.parent != 0 || ankle.parent != 2 * k + 1 {
                return Err(self.err(format!(
                    "leg {}: joints `{}` and `{}` must form a chain torso → hip → ankle",
                    k + 1,
                    hip.hinge.name,
                    ankle.hinge.name
                )));
            }
            for l in [hip, ankle] {
                if l.geoms.is_empty() {
                    return Err(self.err(format!(
                        "body `{}` (joint `{}`) has no geoms",
                        l.xml_name, l.hinge.name
                    )));
                }
            }
            let fr = |l: &RawLink| l.friction.unwrap_or(self.default_friction);
            legs.push(Leg {
                hip: hip.hinge.clone(),
                thigh: Part::from_geoms(hip.geoms.clone(), hip.points.clone(), fr(hip)),
                ankle: ankle.hinge.clone(),
                shin: Part::from_geoms(ankle.geoms.clone(), ankle.points.clone(), fr(ankle)),
            });
        }
        let torso_part = Part::from_geoms(
            torso.geoms.clone(),
            torso.points.clone(),
            torso.friction.unwrap_or(self.default_friction),
        );
        let legs: [Leg; 4] = legs
            .try_into()
            .map_err(|_| self.err("internal: leg count".into()))?;
        Ok(Morphology {
            name: name.to_string(),
            torso_pos,
            torso: torso_part,
            legs,
        })
    }

    /// Every hinge needs a unique name and an `<actuator><motor joint=…>`: pybullet drives only
    /// the motorised joints, so a file without them is not the same robot (and a typo in a name
    /// must not silently give the intact ant).
    fn check_joint_names_and_motors(&self, links: &[RawLink]) -> Result<(), MorphologyError> {
        let mut names = std::collections::HashSet::new();
        for l in links {
            if l.hinge.name == "?" {
                return Err(self.err(format!(
                    "the hinge of body `{}` has no name (motors refer to joints by name)",
                    l.xml_name
                )));
            }
            if !names.insert(l.hinge.name.as_str()) {
                return Err(self.err(format!("duplicate joint name `{}`", l.hinge.name)));
            }
        }
        let motors: Vec<_> = self
            .doc
            .root_element()
            .children()
            .filter(|n| n.has_tag_name("actuator"))
            .flat_map(|a| a.children().filter(|n| n.has_tag_name("motor")))
            .collect();
        let mut driven = std::collections::HashSet::new();
        for m in &motors {
            let joint = m.attribute("joint").ok_or_else(|| {
                self.err(format!("{}: motor without a `joint`", Self::describe(*m)))
            })?;
            if !names.contains(joint) {
                return Err(self.err(format!(
                    "{}: motor for unknown joint `{joint}`",
                    Self::describe(*m)
                )));
            }
            if !driven.insert(joint) {
                return Err(self.err(format!(
                    "{}: joint `{joint}` has two motors",
                    Self::describe(*m)
                )));
            }
        }
        if let Some(l) = links
            .iter()
            .find(|l| !driven.contains(l.hinge.name.as_str()))
        {
            return Err(self.err(format!(
                "joint `{}` has no <motor> in <actuator> (each of the 8 hinges needs one)",
                l.hinge.name
            )));
        }
        Ok(())
    }

    fn walk_torso(
        &self,
        torso_node: roxmltree::Node,
        links: &mut Vec<RawLink>,
        torso: &mut RawLink,
    ) -> Result<(), MorphologyError> {
        for attr in ["quat", "euler", "axisangle", "xyaxes", "zaxis"] {
            if torso_node.attribute(attr).is_some() {
                return Err(self.err(format!(
                    "{}: body rotation (`{attr}`) unsupported",
                    Self::describe(torso_node)
                )));
            }
        }
        let mut geoms = Vec::new();
        let mut friction = None;
        for g in torso_node.children().filter(|n| n.has_tag_name("geom")) {
            geoms.push(self.geom(g, Vector::ZERO)?);
            if let Some(f) = g.attribute("friction") {
                friction = Some(self.first_float(f, &Self::describe(g))?);
            }
        }
        if !geoms.is_empty() {
            let p = Part::from_geoms(geoms.clone(), vec![], 1.0);
            torso.points.push(p.com);
            torso.geoms.extend(geoms);
            torso.friction = friction;
        }
        for child in torso_node.children().filter(|n| n.has_tag_name("body")) {
            self.walk(child, 0, Vector::ZERO, links, torso)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32, tol: f32) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn masses_match_pybullet() {
        let m = Morphology::builtin("intact").unwrap();
        assert!(close(m.total_mass(), 182.176, 0.01), "{}", m.total_mass());
        assert!(close(m.torso.mass, 96.776, 0.01));
        assert!(
            close(m.torso.inertia[0][0], 2.6049, 0.002),
            "{:?}",
            m.torso.inertia
        );
        assert!(close(m.torso.inertia[2][2], 3.2733, 0.002));
        assert!(m.torso.inertia[0][1].abs() < 1e-5);
        let shin = &m.legs[0].shin;
        assert!(close(shin.mass, 13.5184, 0.001));
        assert!(close(shin.inertia[0][0], 0.5263, 0.0005));
        assert!(close(shin.inertia[2][2], 0.9229, 0.0005));
        assert_eq!(m.torso.part_points.len(), 5);
        assert_eq!(m.legs[0].thigh.part_points.len(), 2);
        for name in ["right_damaged", "left_damaged"] {
            let d = Morphology::builtin(name).unwrap();
            assert!(close(d.total_mass(), 173.646, 0.01), "{name}");
        }
        let r = Morphology::builtin("right_damaged").unwrap();
        assert!(close(r.legs[3].shin.mass, 4.9881, 0.001));
        assert!(close(r.legs[3].shin.inertia[0][0], 0.0720, 0.0005));
        assert!(close(r.legs[3].shin.inertia[2][2], 0.0961, 0.0005));
        let l = Morphology::builtin("left_damaged").unwrap();
        assert!(close(l.legs[0].shin.mass, 4.9881, 0.001));
        assert!(close(l.legs[3].shin.mass, 13.5184, 0.001));
    }

    #[test]
    fn joints_in_action_order() {
        let m = Morphology::builtin("intact").unwrap();
        let names: Vec<_> = m.joints().iter().map(|j| j.name.clone()).collect();
        assert_eq!(
            names,
            [
                "hip_1", "ankle_1", "hip_2", "ankle_2", "hip_3", "ankle_3", "hip_4", "ankle_4"
            ]
        );
        let a1 = m.legs[0].ankle.clone();
        assert!(close(a1.axis_scale(), 2f32.sqrt(), 1e-6));
        assert!(
            close(a1.range[0], std::f32::consts::FRAC_PI_6, 1e-6)
                && close(a1.range[1], 1.7453, 1e-4)
        );
        assert!(close(m.legs[1].ankle.range[0], -1.7453, 1e-4));
        assert!(close(m.legs[0].hip.range[1], 0.6981, 1e-4));
        assert_eq!(m.legs[0].ankle.pivot_in_parent, Vector::new(0.2, 0.2, 0.0));
        assert!(close(m.legs[0].thigh.friction, 1.5, 0.0));
    }
}
