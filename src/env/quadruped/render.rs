//! Software 3D view of the ant: ray-cast capsules and sphere, Lambert shading with a hard shadow,
//! and a 1 m ground grid so that motion is visible. The camera follows the torso.

use image::{Rgb, RgbImage};
use rapier3d::math::Vector;

use super::Ant;
use super::morphology::Geom;

/// A primitive in world coordinates with its colour.
#[derive(Clone, Copy)]
struct Prim {
    a: Vector,
    b: Vector,
    r: f32,
    color: [f32; 3],
}

/// Leg colours (legs 1–4) so a damaged leg is easy to spot; the torso is orange.
const TORSO_COLOR: [f32; 3] = [0.95, 0.45, 0.12];
const LEG_COLORS: [[f32; 3]; 4] = [
    [0.20, 0.55, 0.90],
    [0.25, 0.75, 0.35],
    [0.60, 0.45, 0.80],
    [0.90, 0.75, 0.20],
];

fn prims(ant: &Ant) -> Vec<Prim> {
    let m = ant.morphology();
    let w = ant.world();
    let mut out = Vec::with_capacity(16);
    let mut push = |pose: rapier3d::math::Pose, g: &Geom, color: [f32; 3]| match *g {
        Geom::Sphere { center, radius } => {
            let c = pose * center;
            out.push(Prim {
                a: c,
                b: c,
                r: radius,
                color,
            });
        }
        Geom::Capsule { a, b, radius } => out.push(Prim {
            a: pose * a,
            b: pose * b,
            r: radius,
            color,
        }),
    };
    for g in &m.torso.geoms {
        push(w.body_pose(0), g, TORSO_COLOR);
    }
    for (k, leg) in m.legs.iter().enumerate() {
        let c = LEG_COLORS[k];
        for g in &leg.thigh.geoms {
            push(w.body_pose(1 + 2 * k), g, c);
        }
        let dark = [c[0] * 0.7, c[1] * 0.7, c[2] * 0.7];
        for g in &leg.shin.geoms {
            push(w.body_pose(2 + 2 * k), g, dark);
        }
    }
    out
}

/// Ray–capsule intersection (a sphere is a capsule with a = b); returns the distance along `rd`.
fn hit_capsule(ro: Vector, rd: Vector, p: &Prim) -> Option<f32> {
    let ba = p.b - p.a;
    let oa = ro - p.a;
    let baba = ba.dot(ba);
    if baba < 1e-12 {
        let b = oa.dot(rd);
        let c = oa.dot(oa) - p.r * p.r;
        let h = b * b - c;
        return (h >= 0.0).then(|| -b - h.sqrt()).filter(|t| *t > 1e-4);
    }
    let bard = ba.dot(rd);
    let baoa = ba.dot(oa);
    let rdoa = rd.dot(oa);
    let oaoa = oa.dot(oa);
    let a = baba - bard * bard;
    let b = baba * rdoa - baoa * bard;
    let c = baba * oaoa - baoa * baoa - p.r * p.r * baba;
    let h = b * b - a * c;
    if h >= 0.0 && a.abs() > 1e-12 {
        let t = (-b - h.sqrt()) / a;
        let y = baoa + t * bard;
        if y > 0.0 && y < baba && t > 1e-4 {
            return Some(t);
        }
        let oc = if y <= 0.0 { oa } else { ro - p.b };
        let b = rd.dot(oc);
        let c = oc.dot(oc) - p.r * p.r;
        let h = b * b - c;
        if h > 0.0 {
            let t = -b - h.sqrt();
            if t > 1e-4 {
                return Some(t);
            }
        }
    }
    None
}

fn capsule_normal(p: &Prim, x: Vector) -> Vector {
    let ba = p.b - p.a;
    let baba = ba.dot(ba);
    let h = if baba < 1e-12 {
        0.0
    } else {
        ((x - p.a).dot(ba) / baba).clamp(0.0, 1.0)
    };
    (x - (p.a + ba * h)).normalize_or_zero()
}

fn nearest(ro: Vector, rd: Vector, ps: &[Prim]) -> Option<(f32, usize)> {
    let mut best: Option<(f32, usize)> = None;
    for (i, p) in ps.iter().enumerate() {
        if let Some(t) = hit_capsule(ro, rd, p)
            && best.is_none_or(|(bt, _)| t < bt)
        {
            best = Some((t, i));
        }
    }
    best
}

/// Renders the ant from a camera that follows the torso (looking from the back-left, slightly
/// above), with shading, a shadow and a 1 m ground grid.
pub fn render(ant: &Ant, width: u32, height: u32) -> RgbImage {
    let ps = prims(ant);
    let torso = Vector::from_array(ant.torso_position());
    let target = Vector::new(torso.x, torso.y, 0.35);
    let eye = target + Vector::new(-2.0, -2.8, 1.6);
    let fwd = (target - eye).normalize();
    let right = fwd.cross(Vector::Z).normalize();
    let up = right.cross(fwd);
    let fov = 50f32.to_radians();
    let half = (fov * 0.5).tan();
    let aspect = width as f32 / height.max(1) as f32;
    let light = Vector::new(-0.4, -0.3, 1.0).normalize();
    let mut img = RgbImage::new(width, height);
    for py in 0..height {
        for px in 0..width {
            let u = ((px as f32 + 0.5) / width as f32 * 2.0 - 1.0) * half * aspect;
            let v = (1.0 - (py as f32 + 0.5) / height as f32 * 2.0) * half;
            let rd = (fwd + right * u + up * v).normalize();
            let hit = nearest(eye, rd, &ps);
            let t_ground = if rd.z < -1e-6 {
                -eye.z / rd.z
            } else {
                f32::INFINITY
            };
            let color = match hit {
                Some((t, i)) if t < t_ground => {
                    let x = eye + rd * t;
                    let n = capsule_normal(&ps[i], x);
                    let lit = nearest(x + n * 1e-3, light, &ps).is_none();
                    let diff = if lit { n.dot(light).max(0.0) } else { 0.0 };
                    let k = 0.3 + 0.7 * diff;
                    ps[i].color.map(|c| c * k)
                }
                _ if t_ground.is_finite() => {
                    let x = eye + rd * t_ground;
                    let (fx, fy) = (x.x - x.x.floor(), x.y - x.y.floor());
                    let line = !(0.02..=0.98).contains(&fx) || !(0.02..=0.98).contains(&fy);
                    let checker = ((x.x.floor() + x.y.floor()) as i64).rem_euclid(2) == 0;
                    let mut base = if checker { 0.78 } else { 0.70 };
                    if line {
                        base = 0.45;
                    }
                    let shadow = nearest(x + Vector::Z * 1e-3, light, &ps).is_some();
                    let k = if shadow { 0.55 } else { 1.0 };
                    // Fade to the sky colour with distance so the horizon reads well.
                    let fog = ((t_ground - 3.0) / 40.0).clamp(0.0, 1.0);
                    let g = [base * k, base * k, base * k * 0.95];
                    let sky = [0.72, 0.82, 0.93];
                    std::array::from_fn(|c| g[c] * (1.0 - fog) + sky[c] * fog)
                }
                _ => {
                    let s = 0.5 + 0.5 * rd.z;
                    [0.72 + 0.1 * s, 0.82 + 0.08 * s, 0.93 + 0.05 * s]
                }
            };
            img.put_pixel(
                px,
                py,
                Rgb(color.map(|c| (c.clamp(0.0, 1.0) * 255.0 + 0.5) as u8)),
            );
        }
    }
    img
}
