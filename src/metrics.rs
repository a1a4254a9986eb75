//! Per-generation metrics: one JSONL line each, and the `fitness.png` curve drawn with plotters.

use std::io::Write;
use std::path::Path;

use plotters::prelude::*;
use serde::{Deserialize, Serialize};

/// One line of `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerationMetrics {
    /// 0-based generation just completed.
    pub generation: u64,
    pub mean_fitness: f32,
    pub max_fitness: f32,
    pub min_fitness: f32,
    pub std_fitness: f32,
    /// Candidates whose fitness was NaN/inf (diverged); excluded from the statistics above.
    pub non_finite: usize,
    /// α and σ after this generation's decay.
    pub learning_rate: f32,
    pub sigma: f32,
    pub wall_seconds: f64,
    pub env_steps: u64,
    pub agent_steps_per_second: f64,
    /// Of `wall_seconds`: time in the batched policy and in the environments.
    #[serde(default)]
    pub policy_seconds: f64,
    #[serde(default)]
    pub env_seconds: f64,
    /// The `[held_out]` scores of the centre this generation sampled around, on generations
    /// that scored them (not counted in `wall_seconds`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_out: Vec<HeldOutScore>,
}

/// One held-out variant's score over its rollouts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldOutScore {
    /// As `hebbian eval` reports it (per-rollout scores included).
    #[serde(flatten)]
    pub score: crate::eval::VariantScore,
    /// `hebbian eval --variant VARIANT --rollouts ROLLOUTS --seed SEED` replays these episodes.
    pub rollouts: usize,
    pub seed: u64,
}

/// Why metrics could not be read, rewritten or drawn; each names the file (and line).
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {source}")]
    Line {
        path: std::path::PathBuf,
        line: usize,
        source: serde_json::Error,
    },
    #[error("{path}: cannot draw the plot: {message}")]
    Plot {
        path: std::path::PathBuf,
        message: String,
    },
    #[error(transparent)]
    Write(#[from] crate::files::FileError),
}

/// Mean, max, min and population std over the finite values, and how many were not finite.
pub fn summarize(fitness: &[f32]) -> (f32, f32, f32, f32, usize) {
    let finite: Vec<f64> = fitness
        .iter()
        .filter(|f| f.is_finite())
        .map(|&f| f as f64)
        .collect();
    let non_finite = fitness.len() - finite.len();
    if finite.is_empty() {
        return (f32::NAN, f32::NAN, f32::NAN, f32::NAN, non_finite);
    }
    let n = finite.len() as f64;
    let mean = finite.iter().sum::<f64>() / n;
    let std = (finite.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / n).sqrt();
    let max = finite.iter().cloned().fold(f64::MIN, f64::max);
    let min = finite.iter().cloned().fold(f64::MAX, f64::min);
    (mean as f32, max as f32, min as f32, std as f32, non_finite)
}

/// Appends one line and flushes it to disk.
pub fn append(path: &Path, m: &GenerationMetrics) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(
        f,
        "{}",
        serde_json::to_string(m).expect("metrics serialise")
    )?;
    f.sync_data()
}

/// Reads `metrics.jsonl`; malformed lines are an error naming the line.
pub fn read(path: &Path) -> Result<Vec<GenerationMetrics>, MetricsError> {
    read_lines(path, false).map(|(lines, _)| lines.into_iter().map(|(m, _)| m).collect())
}

/// One parsed line of `metrics.jsonl` and its text as written.
type Line = (GenerationMetrics, String);

/// Parses the lines; with `torn_tail_allowed`, a malformed *last* line (what a crash in the
/// middle of [`append`] leaves) is dropped and its 1-based number returned.
fn read_lines(
    path: &Path,
    torn_tail_allowed: bool,
) -> Result<(Vec<Line>, Option<usize>), MetricsError> {
    let text = match std::fs::read(path) {
        Ok(t) => String::from_utf8_lossy(&t).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
        Err(source) => {
            return Err(MetricsError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    let mut out = Vec::with_capacity(lines.len());
    for (k, (n, l)) in lines.iter().enumerate() {
        match serde_json::from_str(l) {
            Ok(m) => out.push((m, l.to_string())),
            Err(_) if torn_tail_allowed && k + 1 == lines.len() => return Ok((out, Some(n + 1))),
            Err(source) => {
                return Err(MetricsError::Line {
                    path: path.to_path_buf(),
                    line: n + 1,
                    source,
                });
            }
        }
    }
    Ok((out, None))
}

/// Rewrites `metrics.jsonl` keeping only generations before `generation` (used on resume, so a
/// generation that was logged but not checkpointed is not counted twice). A torn last line (a
/// crash while it was written) is dropped with a warning; a malformed line before it is an
/// error, since that is not what a crash leaves. Kept lines are written back as they were read
/// (re-serialising would change the last digit of some floats: serde_json's default parser is
/// not exactly round-trip).
pub fn truncate_from(path: &Path, generation: u64) -> Result<Vec<GenerationMetrics>, MetricsError> {
    let (lines, torn) = read_lines(path, true)?;
    if let Some(line) = torn {
        tracing::warn!(
            "{}:{line}: torn last line (a crash while it was written) dropped; that generation \
             is redone from the checkpoint",
            path.display()
        );
    }
    let (kept, text): (Vec<_>, String) = lines
        .into_iter()
        .filter(|(m, _)| m.generation < generation)
        .map(|(m, line)| (m, line + "\n"))
        .unzip();
    crate::files::atomic_write(path, text.as_bytes())?;
    Ok(kept)
}

/// Draws mean and max fitness per generation (with the min–max band) to a PNG, written
/// atomically (a failed plot never leaves a truncated file).
pub fn plot(path: &Path, title: &str, history: &[GenerationMetrics]) -> Result<(), MetricsError> {
    const SIZE: (u32, u32) = (900, 540);
    let mut rgb = vec![255u8; (SIZE.0 * SIZE.1 * 3) as usize];
    draw_plot(&mut rgb, SIZE, title, history).map_err(|message| MetricsError::Plot {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(crate::files::write_png_rgb(path, &rgb, SIZE.0, SIZE.1)?)
}

fn draw_plot(
    rgb: &mut [u8],
    size: (u32, u32),
    title: &str,
    history: &[GenerationMetrics],
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let root = BitMapBackend::with_buffer(rgb, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let pts: Vec<&GenerationMetrics> = history
        .iter()
        .filter(|m| m.mean_fitness.is_finite())
        .collect();
    let held_out = held_out_series(history);
    let (lo, hi) = pts.iter().fold((f32::MAX, f32::MIN), |(lo, hi), m| {
        (lo.min(m.min_fitness), hi.max(m.max_fitness))
    });
    let (lo, hi) = held_out
        .iter()
        .flat_map(|(_, points)| points)
        .fold((lo, hi), |(lo, hi), &(_, y)| (lo.min(y), hi.max(y)));
    let (lo, hi) = if pts.is_empty() {
        (0.0, 1.0)
    } else {
        (lo, hi.max(lo + 1e-3))
    };
    let pad = 0.05 * (hi - lo);
    let last = history.last().map_or(1, |m| m.generation + 1).max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..(last as f64 - 1.0).max(1.0), (lo - pad)..(hi + pad))
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("generation")
        .y_desc("fitness")
        .light_line_style(WHITE)
        .draw()
        .map_err(|e| err(&e))?;
    // The population's min–max range as one shaded polygon.
    let band = RGBColor(180, 200, 240).mix(0.6);
    let outline: Vec<(f64, f32)> = pts
        .iter()
        .map(|m| (m.generation as f64, m.max_fitness))
        .chain(
            pts.iter()
                .rev()
                .map(|m| (m.generation as f64, m.min_fitness)),
        )
        .collect();
    chart
        .draw_series(std::iter::once(Polygon::new(outline, band.filled())))
        .map_err(|e| err(&e))?
        .label("min–max")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], band.filled()));
    chart
        .draw_series(LineSeries::new(
            pts.iter().map(|m| (m.generation as f64, m.max_fitness)),
            &RED,
        ))
        .map_err(|e| err(&e))?
        .label("max")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .draw_series(LineSeries::new(
            pts.iter().map(|m| (m.generation as f64, m.mean_fitness)),
            BLUE.stroke_width(2),
        ))
        .map_err(|e| err(&e))?
        .label("mean")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    // Held-out variants: the centre's mean over their rollouts, one line with dots each.
    const HELD_OUT_COLOURS: [RGBColor; 4] = [
        RGBColor(0, 150, 60),
        RGBColor(200, 110, 0),
        RGBColor(140, 0, 160),
        RGBColor(90, 90, 90),
    ];
    for (k, (variant, points)) in held_out.iter().enumerate() {
        let colour = HELD_OUT_COLOURS[k % HELD_OUT_COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label(format!("held out: {variant}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

/// Per held-out variant (in order of first appearance), its finite means by generation.
fn held_out_series(history: &[GenerationMetrics]) -> Vec<(String, Vec<(f64, f32)>)> {
    let mut series: Vec<(String, Vec<(f64, f32)>)> = Vec::new();
    for m in history {
        for s in m
            .held_out
            .iter()
            .map(|h| &h.score)
            .filter(|s| s.mean.is_finite())
        {
            let k = match series.iter().position(|(v, _)| v == &s.variant) {
                Some(k) => k,
                None => {
                    series.push((s.variant.clone(), Vec::new()));
                    series.len() - 1
                }
            };
            series[k].1.push((m.generation as f64, s.mean));
        }
    }
    series
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resume keeps the logged lines byte for byte: this line's `agent_steps_per_second` comes
    /// back one digit different if parsed and re-serialised (a real line from a run folder).
    #[test]
    fn truncation_keeps_kept_lines_byte_identical() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let line = |g: u64| {
            format!(
                "{{\"generation\":{g},\"mean_fitness\":475.86267,\"max_fitness\":703.8008,\
                 \"min_fitness\":113.23828,\"std_fitness\":101.5,\"non_finite\":0,\
                 \"learning_rate\":0.1,\"sigma\":0.09,\"wall_seconds\":86.709894233,\
                 \"env_steps\":503743,\"agent_steps_per_second\":10385.643955229927,\
                 \"policy_seconds\":12.986471117999999,\"env_seconds\":70.1}}\n"
            )
        };
        let parsed: GenerationMetrics = serde_json::from_str(line(0).trim()).unwrap();
        assert_ne!(
            serde_json::to_string(&parsed).unwrap(),
            line(0).trim(),
            "the fixture no longer exercises a non-round-trip float"
        );
        std::fs::write(&path, line(0) + &line(1) + &line(2)).unwrap();
        let kept = truncate_from(&path, 2).unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), line(0) + &line(1));
    }
}
