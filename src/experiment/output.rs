//! Writing results: CSV and JSON text, and PNG figures drawn with plotters into a buffer, encoded
//! with maximum compression and written atomically like every other file of this crate.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use super::ExperimentError;
use crate::files::atomic_write;

/// A plotters drawing area on an in-memory RGB buffer.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Colours of successive series (matplotlib's tab10).
pub(crate) const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

pub(crate) fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

fn output_error(path: &Path, message: impl Display) -> ExperimentError {
    ExperimentError::Output {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

pub(crate) fn err(e: impl Display) -> String {
    e.to_string()
}

/// Creates `dir` (and its parents).
pub(crate) fn create_dir(dir: &Path) -> Result<(), ExperimentError> {
    std::fs::create_dir_all(dir).map_err(|e| output_error(dir, e))
}

/// Writes a text file atomically.
pub(crate) fn write_text(path: &Path, text: &str) -> Result<PathBuf, ExperimentError> {
    atomic_write(path, text.as_bytes())?;
    Ok(path.to_path_buf())
}

/// Writes pretty JSON atomically.
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<PathBuf, ExperimentError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| output_error(path, e))?;
    write_text(path, &(text + "\n"))
}

/// A CSV table built in memory.
pub(crate) struct Csv {
    text: String,
}

impl Csv {
    pub fn new(header: &[&str]) -> Self {
        Self {
            text: header.join(",") + "\n",
        }
    }

    pub fn row(&mut self, fields: &[String]) {
        self.text.push_str(&fields.join(","));
        self.text.push('\n');
    }

    pub fn write(&self, path: &Path) -> Result<PathBuf, ExperimentError> {
        write_text(path, &self.text)
    }
}

/// A number for a CSV cell: empty when missing (NaN), `-inf` for a diverged return.
pub(crate) fn num(x: f32) -> String {
    if x.is_nan() {
        String::new()
    } else {
        x.to_string()
    }
}

/// A name safe to use in a file name.
pub(crate) fn file_part(name: &str) -> String {
    let stem = Path::new(name)
        .file_stem()
        .map_or(name.into(), |s| s.to_string_lossy().into_owned());
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Draws a `width`×`height` figure with `draw` and writes it as a PNG at `path`.
pub(crate) fn png(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&Area) -> Result<(), String>,
) -> Result<PathBuf, ExperimentError> {
    let mut buf = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| output_error(path, e))?;
        draw(&root).map_err(|e| output_error(path, e))?;
        root.present().map_err(|e| output_error(path, e))?;
    }
    crate::files::write_png_rgb(path, &buf, width, height)?;
    Ok(path.to_path_buf())
}

/// One line of a [`line_chart`]: points `(x, y)`, optionally a band `(x, low, high)`. Non-finite
/// values break the line.
pub(crate) struct Line {
    pub label: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
    pub band: Vec<(f64, f64, f64)>,
    /// Mark each point with a dot.
    pub markers: bool,
}

fn finite_runs<T: Copy>(points: &[T], ok: impl Fn(&T) -> bool) -> Vec<Vec<T>> {
    let mut runs = vec![Vec::new()];
    for p in points {
        if ok(p) {
            runs.last_mut().expect("one run").push(*p);
        } else if !runs.last().expect("one run").is_empty() {
            runs.push(Vec::new());
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

fn padded(lo: f64, hi: f64) -> (f64, f64) {
    // No finite value at all (an empty fold leaves lo > hi): a unit axis.
    if !(lo.is_finite() && hi.is_finite()) || lo > hi {
        return (0.0, 1.0);
    }
    // A flat line still gets a readable axis: a tenth of its magnitude (at least 0.1).
    let magnitude = hi.abs().max(lo.abs()).max(1.0);
    let span = if hi - lo > 1e-6 * magnitude {
        hi - lo
    } else {
        0.1 * magnitude
    };
    (lo - 0.05 * span, hi + 0.05 * span)
}

/// A 2-D line chart with mean ± std bands and an optional shaded x range (e.g. a clamp window).
pub(crate) fn line_chart(
    area: &Area,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    lines: &[Line],
    shade: Option<(f64, f64)>,
) -> Result<(), String> {
    let xs = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .filter(|x| x.is_finite());
    let (x_lo, x_hi) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let (x_lo, x_hi) = if x_lo > x_hi {
        (0.0, 1.0)
    } else {
        (x_lo, x_hi.max(x_lo + 1.0))
    };
    let ys = lines.iter().flat_map(|l| {
        l.points
            .iter()
            .map(|p| p.1)
            .chain(l.band.iter().flat_map(|b| [b.1, b.2]))
    });
    let (y_lo, y_hi) = ys
        .filter(|y| y.is_finite())
        .fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    let (y_lo, y_hi) = padded(y_lo, y_hi);
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(56);
    if !title.is_empty() {
        builder.caption(title, ("sans-serif", 18));
    }
    let mut chart = builder
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    if let Some((a, b)) = shade {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(a, y_lo), (b, y_hi)],
                RGBColor(120, 120, 120).mix(0.15).filled(),
            )))
            .map_err(err)?;
    }
    for line in lines {
        for run in finite_runs(&line.band, |b| b.1.is_finite() && b.2.is_finite()) {
            let outline: Vec<(f64, f64)> = run
                .iter()
                .map(|b| (b.0, b.2))
                .chain(run.iter().rev().map(|b| (b.0, b.1)))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    line.color.mix(0.18).filled(),
                )))
                .map_err(err)?;
        }
    }
    for line in lines {
        let color = line.color;
        let mut first = true;
        for run in finite_runs(&line.points, |p| p.1.is_finite()) {
            let series = chart
                .draw_series(LineSeries::new(run, color.stroke_width(2)))
                .map_err(err)?;
            if first {
                series
                    .label(line.label.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
                first = false;
            }
        }
        if line.markers {
            let dots = line
                .points
                .iter()
                .filter(|p| p.1.is_finite())
                .map(|&p| Circle::new(p, 3, color.filled()));
            chart.draw_series(dots).map_err(err)?;
        }
    }
    if lines.iter().any(|l| !l.label.is_empty()) {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// A grouped bar chart: one group per name, one bar per series with a ± std whisker.
/// Bars for [`bar_chart`] from result rows: the group and series names in first-seen order and,
/// per series, (mean, std) in each group (NaN where a row is missing).
pub(crate) type BarSeries = Vec<(String, Vec<(f64, f64)>)>;

pub(crate) fn bar_series<R>(
    rows: &[R],
    series_of: impl Fn(&R) -> &str,
    group_of: impl Fn(&R) -> &str,
    value_of: impl Fn(&R) -> (f64, f64),
) -> (Vec<String>, BarSeries) {
    let mut series: Vec<String> = Vec::new();
    let mut groups: Vec<String> = Vec::new();
    for r in rows {
        if !series.iter().any(|s| s == series_of(r)) {
            series.push(series_of(r).to_string());
        }
        if !groups.iter().any(|g| g == group_of(r)) {
            groups.push(group_of(r).to_string());
        }
    }
    let bars = series
        .iter()
        .map(|s| {
            let values = groups
                .iter()
                .map(|g| {
                    rows.iter()
                        .find(|r| series_of(r) == s && group_of(r) == g)
                        .map_or((f64::NAN, f64::NAN), &value_of)
                })
                .collect();
            (s.clone(), values)
        })
        .collect();
    (groups, bars)
}

pub(crate) fn bar_chart(
    area: &Area,
    title: &str,
    y_desc: &str,
    groups: &[String],
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<(), String> {
    let n = groups.len().max(1) as f64;
    let values = series
        .iter()
        .flat_map(|(_, v)| v.iter().flat_map(|(m, s)| [m - s, m + s, *m]))
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = padded(lo, hi);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..n, lo..hi)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .x_label_formatter(&|_| String::new())
        .y_desc(y_desc)
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    let k = series.len().max(1) as f64;
    let width = 0.8 / k;
    for (s, (label, values)) in series.iter().enumerate() {
        let c = color(s);
        let bars = values.iter().enumerate().map(move |(g, &(m, _))| {
            let x0 = g as f64 + 0.1 + s as f64 * width;
            let m = if m.is_finite() { m } else { 0.0 };
            Rectangle::new([(x0, 0.0), (x0 + width * 0.9, m)], c.filled())
        });
        chart
            .draw_series(bars)
            .map_err(err)?
            .label(label.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
        let whiskers = values
            .iter()
            .enumerate()
            .filter(|(_, (m, sd))| m.is_finite() && sd.is_finite())
            .map(move |(g, &(m, sd))| {
                let x = g as f64 + 0.1 + s as f64 * width + width * 0.45;
                PathElement::new(vec![(x, m - sd), (x, m + sd)], BLACK.stroke_width(1))
            });
        chart.draw_series(whiskers).map_err(err)?;
    }
    let style = TextStyle::from(("sans-serif", 13).into_font()).pos(
        plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Top,
        ),
    );
    for (g, name) in groups.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(g as f64 + 0.5, lo));
        area.draw_text(name, &style, (x, y + 6)).map_err(err)?;
    }
    if series.len() > 1 || series.iter().any(|(l, _)| !l.is_empty()) {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// Blue–white–red with 17 levels (quantised, which keeps PNGs of noisy matrices small), for
/// `v` in [-1, 1].
pub(crate) fn diverging(v: f32) -> RGBColor {
    const LEVELS: f32 = 8.0;
    let v = if v.is_finite() {
        v.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let q = (v * LEVELS).round() / LEVELS;
    let (end, a) = if q < 0.0 {
        ((33.0, 102.0, 172.0), -q)
    } else {
        ((178.0, 24.0, 43.0), q)
    };
    let mix = |e: f32| (255.0 + (e - 255.0) * a).round() as u8;
    RGBColor(mix(end.0), mix(end.1), mix(end.2))
}

/// An approximation of viridis for `u` in [0, 1] (colour = time).
pub(crate) fn viridis(u: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let u = if u.is_finite() {
        u.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = u * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let l = |p: f64, q: f64| (p + (q - p) * f).round() as u8;
    RGBColor(l(a.0, b.0), l(a.1, b.1), l(a.2, b.2))
}

/// A `rows`×`cols` matrix as a heat map filling `area` below a title line (nearest-neighbour
/// scaling, so a band of zeros stays sharp); `scale` maps to full colour.
pub(crate) fn heatmap(
    area: &Area,
    title: &str,
    data: &[f32],
    (rows, cols): (usize, usize),
    scale: f32,
) -> Result<(), String> {
    let panel = area
        .titled(title, ("sans-serif", 13))
        .map_err(err)?
        .margin(2, 4, 4, 4);
    let (w, h) = panel.dim_in_pixel();
    let scale = if scale > 0.0 && scale.is_finite() {
        scale
    } else {
        1.0
    };
    for py in 0..h {
        let r = ((py as usize * rows) / h.max(1) as usize).min(rows - 1);
        for px in 0..w {
            let c = ((px as usize * cols) / w.max(1) as usize).min(cols - 1);
            let v = data[r * cols + c] / scale;
            panel
                .draw_pixel((px as i32, py as i32), &diverging(v))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// A vertical colour bar for [`diverging`] labelled ±`scale`.
pub(crate) fn colorbar(area: &Area, scale: f32) -> Result<(), String> {
    let (w, h) = area.dim_in_pixel();
    let (top, bottom) = (22i32, h as i32 - 22);
    let bar_w = (w as i32 / 4).clamp(6, 14);
    for y in top..bottom {
        let v = 1.0 - 2.0 * (y - top) as f32 / (bottom - top).max(1) as f32;
        for x in 4..4 + bar_w {
            area.draw_pixel((x, y), &diverging(v)).map_err(err)?;
        }
    }
    let style = TextStyle::from(("sans-serif", 12).into_font());
    area.draw_text(&format!("+{scale:.3}"), &style, (2, 4))
        .map_err(err)?;
    area.draw_text(&format!("-{scale:.3}"), &style, (2, bottom + 4))
        .map_err(err)?;
    Ok(())
}

/// A 3-D trajectory coloured by time (viridis: dark = start, yellow = end).
pub(crate) fn trajectory_3d(area: &Area, title: &str, points: &[[f64; 3]]) -> Result<(), String> {
    let range = |k: usize| {
        let (lo, hi) = points
            .iter()
            .map(|p| p[k])
            .filter(|v| v.is_finite())
            .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = padded(lo, hi);
        lo..hi
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 15))
        .margin(6)
        .build_cartesian_3d(range(0), range(1), range(2))
        .map_err(err)?;
    chart.with_projection(|mut pb| {
        pb.yaw = 0.6;
        pb.pitch = 0.35;
        pb.scale = 0.8;
        pb.into_matrix()
    });
    chart
        .configure_axes()
        .light_grid_style(WHITE)
        .max_light_lines(1)
        .label_style(("sans-serif", 10))
        .draw()
        .map_err(err)?;
    let n = points.len().max(2) as f64 - 1.0;
    // 32 shades of time: enough to read, few enough colours to keep the PNG small.
    let shade = |t: usize| viridis((32.0 * t as f64 / n).round() / 32.0);
    let segments = points.windows(2).enumerate().map(move |(t, w)| {
        PathElement::new(
            vec![(w[0][0], w[0][1], w[0][2]), (w[1][0], w[1][1], w[1][2])],
            shade(t).stroke_width(1),
        )
    });
    chart.draw_series(segments).map_err(err)?;
    if let (Some(a), Some(b)) = (points.first(), points.last()) {
        chart
            .draw_series([
                Circle::new((a[0], a[1], a[2]), 4, viridis(0.0).filled()),
                Circle::new((b[0], b[1], b[2]), 4, viridis(1.0).filled()),
            ])
            .map_err(err)?;
    }
    Ok(())
}
