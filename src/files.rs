//! Files on disk: the model file (the evolved centre, readable from Python's `safetensors`) and
//! the training checkpoint. Both are safetensors with a metadata header; both are written
//! atomically (temporary file, then rename), and every load error names the file and the problem.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::es::EsState;
use crate::genome::{GenomeLayout, SegmentKind};
use crate::plastic::{LayerAssignment, RuleAssignment};

const MODEL_FORMAT: &str = "hebbian-model";
const CHECKPOINT_FORMAT: &str = "hebbian-checkpoint";
const VERSION: &str = "1";

/// A bad or unreadable file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a valid safetensors file ({message}); truncated or foreign?")]
    Format { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Content { path: PathBuf, message: String },
}

fn content(path: &Path, message: impl Into<String>) -> FileError {
    FileError::Content {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Writes `bytes` to `path` via a temporary file and a rename, so a crash never leaves a
/// half-written file at `path`.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let io = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(feature = "full")]
/// Encodes an RGB8 image as PNG (maximum compression) and writes it atomically.
pub fn write_png_rgb(path: &Path, rgb: &[u8], width: u32, height: u32) -> Result<(), FileError> {
    use image::ImageEncoder;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut bytes = Vec::new();
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Best, FilterType::Adaptive)
        .write_image(rgb, width, height, image::ExtendedColorType::Rgb8)
        .map_err(|e| content(path, format!("cannot encode PNG: {e}")))?;
    atomic_write(path, &bytes)
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn read_f32(path: &Path, view: &TensorView<'_>, name: &str) -> Result<Vec<f32>, FileError> {
    if view.dtype() != Dtype::F32 {
        return Err(content(
            path,
            format!("tensor `{name}` is {:?}, expected F32", view.dtype()),
        ));
    }
    Ok(view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// One tensor to write: name, dtype, shape, little-endian bytes.
type Stored = (String, Dtype, Vec<usize>, Vec<u8>);

/// f32 numbers as a tensor to write.
fn f32_tensor(name: String, shape: Vec<usize>, v: &[f32]) -> Stored {
    (name, Dtype::F32, shape, f32_bytes(v))
}

/// A merged network's assignment: `rule_of.{l}` `[out, in]` (U32) per plastic layer.
fn assignment_tensors(assignment: Option<&RuleAssignment>) -> Vec<Stored> {
    let Some(a) = assignment else {
        return Vec::new();
    };
    a.layers()
        .iter()
        .zip(a.shapes())
        .enumerate()
        .map(|(l, (layer, &(o, i)))| {
            let bytes = layer.rule_of.iter().flat_map(|r| r.to_le_bytes()).collect();
            (format!("rule_of.{l}"), Dtype::U32, vec![o, i], bytes)
        })
        .collect()
}

/// Reads the `rule_of.{l}` tensors of a file, if it has them (a merged network's).
fn assignment_in(
    path: &Path,
    bytes: &[u8],
    shapes: &[(usize, usize)],
) -> Result<Option<RuleAssignment>, FileError> {
    let st = SafeTensors::deserialize(bytes).expect("checked by load");
    if st.tensor("rule_of.0").is_err() {
        return Ok(None);
    }
    let mut layers = Vec::new();
    for (l, &(o, i)) in shapes.iter().enumerate() {
        let name = format!("rule_of.{l}");
        let view = st
            .tensor(&name)
            .map_err(|_| content(path, format!("lacks tensor `{name}` (a merged network)")))?;
        if view.dtype() != Dtype::U32 || view.shape() != [o, i] {
            return Err(content(
                path,
                format!(
                    "tensor `{name}` is {:?} {:?}, expected U32 [{o}, {i}]",
                    view.dtype(),
                    view.shape()
                ),
            ));
        }
        let rule_of: Vec<u32> = view
            .data()
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let rules = rule_of.iter().max().map_or(0, |&m| m as usize + 1);
        layers.push(LayerAssignment { rules, rule_of });
    }
    RuleAssignment::new(layers, shapes)
        .map(Some)
        .map_err(|e| content(path, format!("rule assignment: {e}")))
}

/// The rule assignment stored in a model file (merged networks only), for a network of plastic
/// layers `shapes` (`(out, in)`).
pub fn read_model_assignment(
    path: &Path,
    shapes: &[(usize, usize)],
) -> Result<Option<RuleAssignment>, FileError> {
    assignment_in(path, &load(path, MODEL_FORMAT)?.bytes, shapes)
}

/// [`read_model_assignment`] for a checkpoint.
pub fn read_checkpoint_assignment(
    path: &Path,
    shapes: &[(usize, usize)],
) -> Result<Option<RuleAssignment>, FileError> {
    assignment_in(path, &load(path, CHECKPOINT_FORMAT)?.bytes, shapes)
}

fn serialize(tensors: Vec<Stored>, metadata: HashMap<String, String>) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, dtype, shape, bytes)| {
            (
                n.clone(),
                TensorView::new(*dtype, shape.clone(), bytes).expect("consistent tensor"),
            )
        })
        .collect();
    let bytes = safetensors::serialize(views, Some(metadata)).expect("safetensors serialisation");
    canonical_header(bytes)
}

/// The same safetensors bytes with the JSON header's keys sorted: safetensors writes its
/// metadata in hash order, which differs between processes, and equal files should be equal
/// bytes (a run split over MPI ranks, or repeated, writes the identical model file).
fn canonical_header(bytes: Vec<u8>) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8-byte length")) as usize;
    // serde_json's default map is ordered by key.
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..8 + n]).expect("safetensors wrote a JSON header");
    let mut json = serde_json::to_vec(&header).expect("JSON serialises");
    json.resize(json.len().div_ceil(8) * 8, b' ');
    let mut out = Vec::with_capacity(8 + json.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

struct Loaded {
    bytes: Vec<u8>,
    metadata: HashMap<String, String>,
}

fn load(path: &Path, format: &str) -> Result<Loaded, FileError> {
    let bytes = crate::limits::read_capped(
        path,
        crate::limits::MAX_TENSOR_FILE_BYTES,
        &format!("{format} file"),
    )
    .map_err(|source| FileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| FileError::Format {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    SafeTensors::deserialize(&bytes).map_err(|e| FileError::Format {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let metadata = header.metadata().clone().unwrap_or_default();
    match metadata.get("format").map(String::as_str) {
        Some(f) if f == format => {}
        Some(other) => {
            return Err(content(
                path,
                format!("is a `{other}` file, expected a `{format}` file"),
            ));
        }
        None => {
            return Err(content(
                path,
                format!("has no `format` header; not a {format} file"),
            ));
        }
    }
    match metadata.get("version").map(String::as_str) {
        Some(VERSION) => {}
        Some(other) => {
            return Err(content(
                path,
                format!(
                    "header `version` is `{other}`; this build reads version {VERSION} (a file \
                     from a newer hebbian?)"
                ),
            ));
        }
        None => return Err(content(path, "header lacks `version`")),
    }
    Ok(Loaded { bytes, metadata })
}

fn meta<'a>(path: &Path, m: &'a HashMap<String, String>, key: &str) -> Result<&'a str, FileError> {
    m.get(key)
        .map(String::as_str)
        .ok_or_else(|| content(path, format!("header lacks `{key}`")))
}

fn parse_meta<T: std::str::FromStr>(
    path: &Path,
    m: &HashMap<String, String>,
    key: &str,
) -> Result<T, FileError> {
    meta(path, m, key)?
        .parse()
        .map_err(|_| content(path, format!("header `{key}` is not a valid value")))
}

/// What a model file says about the network it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelHeader {
    pub task: String,
    /// A rule name or `static`.
    pub rule: String,
    pub generation: u64,
    /// The resolved experiment config (TOML).
    pub config: String,
}

/// A model: one genome (the ES centre) and its header.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub header: ModelHeader,
    pub genome: Vec<f32>,
}

fn segment_name(kind: SegmentKind) -> String {
    match kind {
        SegmentKind::Coefficients(l) => format!("coefficients.{l}"),
        SegmentKind::NeuronCoefficients(n) => format!("neurons.{n}"),
        SegmentKind::MergedCoefficients(l) => format!("merged_rules.{l}"),
        SegmentKind::Conv => "conv".into(),
        SegmentKind::InitialWeights(l) => format!("initial_weights.{l}"),
        SegmentKind::Weights(l) => format!("weights.{l}"),
    }
}

/// Saves a model: one named tensor per genome segment (so Python sees `coefficients.0` as
/// `[K, out, in]`), header in the safetensors metadata; a merged network's `assignment` as
/// `rule_of.{l}`.
pub fn save_model(
    path: &Path,
    layout: &GenomeLayout,
    model: &Model,
    assignment: Option<&RuleAssignment>,
) -> Result<(), FileError> {
    if model.genome.len() != layout.len() {
        return Err(content(path, "genome length does not match its layout"));
    }
    let tensors = layout
        .segments()
        .iter()
        .map(|s| {
            f32_tensor(
                segment_name(s.kind),
                s.shape.clone(),
                &model.genome[s.offset..s.offset + s.len()],
            )
        })
        .chain(assignment_tensors(assignment))
        .collect();
    let h = &model.header;
    let metadata = HashMap::from([
        ("format".to_string(), MODEL_FORMAT.to_string()),
        ("version".to_string(), VERSION.to_string()),
        ("task".to_string(), h.task.clone()),
        ("rule".to_string(), h.rule.clone()),
        ("generation".to_string(), h.generation.to_string()),
        ("genome_len".to_string(), layout.len().to_string()),
        ("config".to_string(), h.config.clone()),
    ]);
    atomic_write(path, &serialize(tensors, metadata))
}

/// Reads a model's header only (to find out which layout to load it with).
pub fn read_model_header(path: &Path) -> Result<ModelHeader, FileError> {
    let l = load(path, MODEL_FORMAT)?;
    Ok(ModelHeader {
        task: meta(path, &l.metadata, "task")?.to_string(),
        rule: meta(path, &l.metadata, "rule")?.to_string(),
        generation: parse_meta(path, &l.metadata, "generation")?,
        config: meta(path, &l.metadata, "config")?.to_string(),
    })
}

/// Loads a model for a given layout, checking the task and rule it was trained for.
pub fn load_model(
    path: &Path,
    layout: &GenomeLayout,
    task: &str,
    rule: &str,
) -> Result<Model, FileError> {
    let header = read_model_header(path)?;
    if header.task != task {
        return Err(content(
            path,
            format!("model is for task `{}`, not `{task}`", header.task),
        ));
    }
    if header.rule != rule {
        return Err(content(
            path,
            format!("model uses rule `{}`, not `{rule}`", header.rule),
        ));
    }
    let l = load(path, MODEL_FORMAT)?;
    let genome_len: usize = parse_meta(path, &l.metadata, "genome_len")?;
    if genome_len != layout.len() {
        return Err(content(
            path,
            format!(
                "header `genome_len` is {genome_len}, but a {task} {rule} network has {} \
                 evolved numbers",
                layout.len()
            ),
        ));
    }
    let st = SafeTensors::deserialize(&l.bytes).expect("checked by load");
    let mut genome = vec![0.0f32; layout.len()];
    for s in layout.segments() {
        let name = segment_name(s.kind);
        let view = st
            .tensor(&name)
            .map_err(|_| content(path, format!("lacks tensor `{name}`")))?;
        if view.shape() != s.shape.as_slice() {
            return Err(content(
                path,
                format!(
                    "tensor `{name}` has shape {:?}, expected {:?}",
                    view.shape(),
                    s.shape
                ),
            ));
        }
        let values = read_f32(path, &view, &name)?;
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(content(
                path,
                format!(
                    "tensor `{name}` holds a non-finite value ({} at flat index {i}); a \
                     diverged or corrupted model",
                    values[i]
                ),
            ));
        }
        genome[s.offset..s.offset + s.len()].copy_from_slice(&values);
    }
    Ok(Model { header, genome })
}

/// The SHA-256 (hex) of a resolved config's TOML, kept in checkpoints so a resume can tell
/// whether `config.toml` was edited since.
pub fn config_hash(config_toml: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(config_toml.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Saves the ES state, with the task/rule/genome length it belongs to, the resolved config
/// (TOML) it was made with and, for a merged network, its assignment (as [`save_model`]).
pub fn save_checkpoint(
    path: &Path,
    state: &EsState,
    task: &str,
    rule: &str,
    config_toml: &str,
    assignment: Option<&RuleAssignment>,
) -> Result<(), FileError> {
    // The algorithm's own per-dimension state (σ, optimizer moments) as `state.NAME`.
    let tensors = std::iter::once(("centre".to_string(), &state.centre))
        .chain(state.vectors.iter().map(|(n, v)| (format!("state.{n}"), v)))
        .map(|(name, v)| f32_tensor(name, vec![v.len()], v))
        .chain(assignment_tensors(assignment))
        .collect();
    let metadata = HashMap::from([
        ("format".to_string(), CHECKPOINT_FORMAT.to_string()),
        ("version".to_string(), VERSION.to_string()),
        ("task".to_string(), task.to_string()),
        ("rule".to_string(), rule.to_string()),
        ("learning_rate".to_string(), state.learning_rate.to_string()),
        ("sigma".to_string(), state.sigma.to_string()),
        ("generation".to_string(), state.generation.to_string()),
        ("seed".to_string(), state.seed.to_string()),
        ("config".to_string(), config_toml.to_string()),
        ("config_sha256".to_string(), config_hash(config_toml)),
    ]);
    atomic_write(path, &serialize(tensors, metadata))
}

/// A checkpoint: the ES state and the config it was made with (`None` in checkpoints written
/// before configs were recorded).
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub state: EsState,
    pub config: Option<String>,
}

/// Loads an ES state, checking it belongs to this task, rule and genome length.
pub fn load_checkpoint(
    path: &Path,
    task: &str,
    rule: &str,
    genome_len: usize,
) -> Result<EsState, FileError> {
    read_checkpoint(path, task, rule, genome_len).map(|c| c.state)
}

/// [`load_checkpoint`], with the recorded config (its hash checked against its text).
pub fn read_checkpoint(
    path: &Path,
    task: &str,
    rule: &str,
    genome_len: usize,
) -> Result<Checkpoint, FileError> {
    let l = load(path, CHECKPOINT_FORMAT)?;
    for (key, want) in [("task", task), ("rule", rule)] {
        let got = meta(path, &l.metadata, key)?;
        if got != want {
            return Err(content(
                path,
                format!("checkpoint is for {key} `{got}`, not `{want}`"),
            ));
        }
    }
    let st = SafeTensors::deserialize(&l.bytes).expect("checked by load");
    let view = st
        .tensor("centre")
        .map_err(|_| content(path, "lacks tensor `centre`"))?;
    let centre = read_f32(path, &view, "centre")?;
    if centre.len() != genome_len {
        return Err(content(
            path,
            format!("centre has {} numbers, expected {genome_len}", centre.len()),
        ));
    }
    let mut vectors = Vec::new();
    let mut names: Vec<String> = st
        .names()
        .into_iter()
        .filter(|n| n.starts_with("state."))
        .map(str::to_string)
        .collect();
    names.sort();
    for name in names {
        let view = st.tensor(&name).expect("listed");
        let v = read_f32(path, &view, &name)?;
        if v.len() != genome_len || !v.iter().all(|x| x.is_finite()) {
            return Err(content(
                path,
                format!("tensor `{name}` must hold {genome_len} finite numbers"),
            ));
        }
        vectors.push((name["state.".len()..].to_string(), v));
    }
    let state = EsState {
        centre,
        learning_rate: parse_meta(path, &l.metadata, "learning_rate")?,
        sigma: parse_meta(path, &l.metadata, "sigma")?,
        generation: parse_meta(path, &l.metadata, "generation")?,
        seed: parse_meta(path, &l.metadata, "seed")?,
        vectors,
    };
    if !state.centre.iter().all(|v| v.is_finite()) {
        return Err(content(path, "centre holds NaN or infinite values"));
    }
    let positive = |v: f32| v.is_finite() && v > 0.0;
    if !(positive(state.sigma) && positive(state.learning_rate)) {
        return Err(content(
            path,
            "header `sigma` and `learning_rate` must be positive finite numbers",
        ));
    }
    let config = match l.metadata.get("config") {
        None => None,
        Some(text) => {
            let hash = meta(path, &l.metadata, "config_sha256")?;
            if config_hash(text) != hash {
                return Err(content(
                    path,
                    "header `config` does not match its `config_sha256`; the checkpoint was \
                     edited or corrupted",
                ));
            }
            Some(text.clone())
        }
    };
    Ok(Checkpoint { state, config })
}
