//! Agent-steps per second of the batched plastic network (forward + Hebbian update) on every
//! compiled backend, fused and unfused, next to this machine's memory bandwidth (STREAM triad)
//! measured in the same run. `cargo bench --bench hebbian_step [-- --quick]`
//!
//! Traffic per agent-step counted as useful: read W, A', B', C', D', write W = 6 arrays x 4 B
//! x synapses (the fused step computes the forward product from the same read of W).

use std::time::{Duration, Instant};

use burn::tensor::{Device, Tensor, TensorData};
use hebbian::Rule;
use hebbian::architecture::Architecture;
use hebbian::conv::ConvFrontEnd;
use hebbian::plastic::{
    CoefficientPrecision, LayerAssignment, PlasticConfig, PlasticNetwork, RuleAssignment,
    UpdateKernel, WeightInit,
};
use rayon::prelude::*;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The batched-numpy anchor on this machine (anchor-python-baseline.md §3), agent-steps/s.
const NUMPY_ANCHOR: f64 = 28_000.0;

fn triad_gbs() -> f64 {
    let n = 32 * 1024 * 1024;
    let b = vec![1.0f32; n];
    let c = vec![2.0f32; n];
    let mut a = vec![0.0f32; n];
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        a.par_chunks_mut(1 << 16)
            .zip(b.par_chunks(1 << 16).zip(c.par_chunks(1 << 16)))
            .for_each(|(a, (b, c))| {
                for ((a, b), c) in a.iter_mut().zip(b).zip(c) {
                    *a = b + 3.0 * c;
                }
            });
        best = best.min(t.elapsed());
    }
    std::hint::black_box(&a);
    (3 * 4 * n) as f64 / best.as_secs_f64() / 1e9
}

fn host(n: usize, bound: f32, seed: u64) -> Vec<f32> {
    WeightInit::Uni
        .sample(1, 1, n, seed)
        .iter()
        .map(|v| v * bound * 10.0)
        .collect()
}

struct Net {
    net: PlasticNetwork,
    conv: Option<ConvFrontEnd>,
    input: Tensor<2>,
    image: Option<Tensor<4>>,
    /// The image on the host, for steps that upload it as a rollout does every step.
    image_host: Option<(Vec<f32>, [usize; 4])>,
}

fn build(arch: &Architecture, p: usize, kernel: UpdateKernel, device: &Device) -> Net {
    build_stored(arch, p, kernel, CoefficientPrecision::F32, device)
}

fn build_stored(
    arch: &Architecture,
    p: usize,
    kernel: UpdateKernel,
    precision: CoefficientPrecision,
    device: &Device,
) -> Net {
    let config = PlasticConfig {
        layer_sizes: arch.layer_sizes.clone(),
        rule: Rule::AbcdLr,
        output_activation: arch.output_activation,
        normalize: arch.conv.is_some(),
        kernel,
        coefficient_precision: precision,
    };
    let coefficients = config
        .layer_shapes()
        .iter()
        .map(|&(o, i)| {
            Tensor::from_data(
                TensorData::new(host(p * 5 * o * i, 0.1, 1), [p, 5, o, i]),
                device,
            )
        })
        .collect();
    let weights = config
        .layer_shapes()
        .iter()
        .map(|&(o, i)| {
            Tensor::from_data(TensorData::new(host(p * o * i, 0.1, 2), [p, o, i]), device)
        })
        .collect();
    let conv = arch.conv.map(|c| {
        ConvFrontEnd::new(
            c,
            Tensor::from_data(
                TensorData::new(host(p * c.params(), 0.3, 3), [p, c.params()]),
                device,
            ),
        )
    });
    let image_host = arch.conv.map(|c| {
        let n = p * 3 * c.input_size * c.input_size;
        (host(n, 1.0, 4), [p, 3, c.input_size, c.input_size])
    });
    let image = image_host
        .as_ref()
        .map(|(data, shape)| Tensor::from_data(TensorData::new(data.clone(), *shape), device));
    let input = Tensor::from_data(
        TensorData::new(
            host(p * arch.layer_sizes[0], 1.0, 5),
            [p, arch.layer_sizes[0]],
        ),
        device,
    );
    Net {
        net: PlasticNetwork::new(config, coefficients, weights),
        conv,
        input,
        image,
        image_host,
    }
}

/// Agent-steps per second over at least `budget` of steps (after 3 warm-up steps) of `nets`
/// stepped one after another (a population split into chunks, as rollouts split it), or the
/// device's error when it cannot run them.
/// With `upload`, the conv nets' images cross from the host every step, as a rollout's
/// observations do.
fn try_measure(nets: &mut [Net], budget: Duration, upload: bool) -> Result<f64, String> {
    let p: usize = nets.iter().map(|n| n.input.dims()[0]).sum();
    let step = |nets: &mut [Net]| -> Result<(), String> {
        for net in nets.iter_mut() {
            let x = match (&net.conv, &net.image, &net.image_host) {
                (Some(c), Some(_), Some((data, shape))) if upload => {
                    let device = net.input.device();
                    c.forward(Tensor::from_data(
                        TensorData::new(data.clone(), *shape),
                        &device,
                    ))
                }
                (Some(c), Some(img), _) => c.forward(img.clone()),
                _ => net.input.clone(),
            };
            let y = net.net.step(x);
            std::hint::black_box(y.try_into_data().map_err(|e| format!("{e:?}"))?);
        }
        Ok(())
    };
    for _ in 0..3 {
        step(nets)?;
    }
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < budget || n < 5 {
        step(nets)?;
        n += 1;
    }
    Ok((n * p) as f64 / start.elapsed().as_secs_f64())
}

fn measure(net: Net, budget: Duration) -> f64 {
    try_measure(&mut [net], budget, false).expect("the CPU holds the population")
}

/// A population of `p` on `device` as the rollouts hold it: one network, or on a GPU equal
/// chunks where one network's tensors would pass the device's binding limit. Returns the
/// networks and a label saying how it was split.
fn build_population(
    arch: &Architecture,
    p: usize,
    kernel: UpdateKernel,
    device: &Device,
) -> (Vec<Net>, String) {
    let synapses = arch.synapses();
    let fits = hebbian::limits::device_tensor_agents(5 * synapses, synapses);
    let chunks = if hebbian::device::is_cpu(device) {
        1
    } else {
        p.div_ceil(fits)
    };
    let size = p.div_ceil(chunks);
    let nets = (0..chunks)
        .map(|c| build(arch, size.min(p - c * size), kernel, device))
        .collect();
    let label = if chunks > 1 {
        format!(" ({chunks} chunks of {size}: one tensor would pass the device's binding limit)")
    } else {
        String::new()
    };
    (nets, label)
}

/// The conv front end alone: the fused direct kernel vs burn's grouped conv2d, same run.
fn conv_front_end(budget: Duration) {
    let device = hebbian::device::default_cpu();
    let shape = Architecture::car_racing()
        .conv
        .expect("car has a conv front end");
    for p in [1, 64] {
        let weights = host(p * shape.params(), 0.3, 3);
        let conv = ConvFrontEnd::new(
            shape,
            Tensor::from_data(TensorData::new(weights, [p, shape.params()]), &device),
        );
        let n = p * 3 * shape.input_size * shape.input_size;
        let image = Tensor::<4>::from_data(
            TensorData::new(host(n, 1.0, 4), [p, 3, shape.input_size, shape.input_size]),
            &device,
        );
        let rate = |fused: bool| {
            let run = || {
                let y = if fused {
                    conv.forward(image.clone())
                } else {
                    conv.forward_tensor_ops(image.clone())
                };
                std::hint::black_box(y.into_data());
            };
            run();
            let start = Instant::now();
            let mut k = 0;
            while start.elapsed() < budget || k < 3 {
                run();
                k += 1;
            }
            (k * p) as f64 / start.elapsed().as_secs_f64()
        };
        let (fused, ops) = (rate(true), rate(false));
        println!(
            "conv front end (flex) P={p}: fused {fused:.0} agent-steps/s, burn conv2d {ops:.0} -> {:.1}x",
            fused / ops
        );
    }
}

/// Neuron-level (NcHL) vs per-synapse ABCD_lr on the Ant net, fused flex kernel, same run: the
/// neuron-level step streams only W (8 B per synapse instead of 24).
fn neuron_level(triad: f64, budget: Duration) {
    let device = hebbian::device::default_cpu();
    let ant = Architecture::ant();
    let synapses = ant.synapses() as f64;
    for p in [1024, 4096] {
        let synapse_net = build(&ant, p, UpdateKernel::Fused, &device);
        let config = synapse_net.net.config().clone();
        let neurons = ant
            .layer_sizes
            .iter()
            .map(|&n| {
                Tensor::from_data(TensorData::new(host(p * 5 * n, 0.1, 8), [p, 5, n]), &device)
            })
            .collect();
        let weights = synapse_net.net.weights();
        let neuron_net = Net {
            net: PlasticNetwork::new_neuron_level(config, neurons, weights),
            conv: None,
            input: synapse_net.input.clone(),
            image: None,
            image_host: None,
        };
        let per_synapse = measure(synapse_net, budget);
        let per_neuron = measure(neuron_net, budget);
        let pct = 100.0 * per_neuron * 8.0 * synapses / (triad * 1e9);
        println!(
            "ant neuron-level (NcHL) P={p}: {per_neuron:.0} agent-steps/s vs per-synapse {per_synapse:.0} -> {:.2}x ({pct:.0}% of triad at 8 B/synapse)",
            per_neuron / per_synapse
        );
    }
}

/// Merged rules (Evolve & Merge, 128 per layer: the Ant's 1,920 coefficients) vs per-synapse
/// ABCD_lr on the Ant net, fused flex kernel, same run: W plus a 4-byte rule index per synapse
/// (12 B instead of 24), the rules' table staying in L1.
fn merged_rules(triad: f64, budget: Duration) {
    let device = hebbian::device::default_cpu();
    let ant = Architecture::ant();
    let synapses = ant.synapses() as f64;
    let shapes = ant.layer_shapes();
    let rules = 128;
    let layers = shapes
        .iter()
        .map(|&(o, i)| LayerAssignment {
            rules,
            // A scattered assignment, as k-means leaves it.
            rule_of: (0..o * i).map(|s| ((s * 7919) % rules) as u32).collect(),
        })
        .collect();
    let assignment = RuleAssignment::new(layers, &shapes).expect("every rule used");
    for p in [1024, 4096] {
        let synapse_net = build(&ant, p, UpdateKernel::Fused, &device);
        let config = synapse_net.net.config().clone();
        let tables = shapes
            .iter()
            .map(|_| {
                Tensor::from_data(
                    TensorData::new(host(p * 5 * rules, 0.1, 9), [p, 5, rules]),
                    &device,
                )
            })
            .collect();
        let weights = synapse_net.net.weights();
        let merged_net = Net {
            net: PlasticNetwork::new_merged(config, tables, &assignment, weights),
            conv: None,
            input: synapse_net.input.clone(),
            image: None,
            image_host: None,
        };
        let per_synapse = measure(synapse_net, budget);
        let merged = measure(merged_net, budget);
        let pct = 100.0 * merged * 12.0 * synapses / (triad * 1e9);
        println!(
            "ant merged rules (128/layer) P={p}: {merged:.0} agent-steps/s vs per-synapse {per_synapse:.0} -> {:.2}x ({pct:.0}% of triad at 12 B/synapse)",
            merged / per_synapse
        );
    }
}

/// The fused step with the coefficients stored in 16 bits (`network.coefficient_precision`) vs
/// f32, Ant net on flex, same run: 16 instead of 24 bytes per synapse.
fn coefficient_precision(triad: f64, budget: Duration) {
    let device = hebbian::device::default_cpu();
    let ant = Architecture::ant();
    let synapses = ant.synapses() as f64;
    for p in [1024, 4096] {
        let mut rates = Vec::new();
        for precision in [
            CoefficientPrecision::F32,
            CoefficientPrecision::Bf16,
            CoefficientPrecision::F16,
        ] {
            let net = build_stored(&ant, p, UpdateKernel::Fused, precision, &device);
            let rate = measure(net, budget);
            let bytes = (2 * 4 + 4 * precision.bytes()) as f64 * synapses;
            rates.push((precision, rate, 100.0 * rate * bytes / (triad * 1e9)));
        }
        let f32_rate = rates[0].1;
        let row: Vec<String> = rates
            .iter()
            .map(|(precision, rate, pct)| {
                format!(
                    "{precision} {rate:.0} ({:.2}x, {pct:.0}% of triad)",
                    rate / f32_rate
                )
            })
            .collect();
        println!(
            "ant coefficient storage, fused flex P={p}: {}",
            row.join(", ")
        );
    }
}

/// The update with one running `f32::max` per row, as the kernel was before its max was split
/// into lanes: the baseline that shows what the lanes buy, measured in the same run.
#[allow(clippy::too_many_arguments)]
fn serial_max_rows(
    w: &mut [f32],
    coefficients: [&[f32]; 4],
    pre: &[f32],
    post: &[f32],
    row_max: &mut [f32],
    out: usize,
    inp: usize,
) {
    let [a, b, c, d] = coefficients;
    let rows_per_task = (16 * 1024 / inp).max(1);
    w.par_chunks_mut(rows_per_task * inp)
        .zip(row_max.par_chunks_mut(rows_per_task))
        .enumerate()
        .for_each(|(task, (w_chunk, max_chunk))| {
            for (r, (w_row, max)) in w_chunk.chunks_exact_mut(inp).zip(max_chunk).enumerate() {
                let row = task * rows_per_task + r;
                let (po, x) = (post[row], &pre[row / out * inp..(row / out + 1) * inp]);
                let base = row * inp;
                let mut m = 0.0f32;
                for (k, wv) in w_row.iter_mut().enumerate() {
                    let i = base + k;
                    *wv = *wv + (a[i] * po + b[i]) * x[k] + c[i] * po + d[i];
                    m = m.max(wv.abs());
                }
                *max = m;
            }
        });
}

/// The hand-written row-fused loop on plain Vecs (the fused kernel without burn around it), or
/// with `serial_max` the loop before its max was split into lanes.
fn hand_loop(p: usize, budget: Duration, serial_max: bool) -> f64 {
    let shapes = Architecture::ant().layer_shapes();
    let mut layers: Vec<_> = shapes
        .iter()
        .map(|&(o, i)| {
            let n = p * o * i;
            (
                host(n, 0.1, 1),
                host(n, 0.1, 2),
                host(n, 0.1, 3),
                host(n, 0.1, 4),
                host(n, 0.1, 5),
                o,
                i,
            )
        })
        .collect();
    let pre = host(p * 128, 1.0, 6);
    let post = host(p * 128, 1.0, 7);
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < budget || n < 5 {
        for (w, a, b, c, d, o, i) in layers.iter_mut() {
            let mut row_max = vec![0.0; p * *o];
            if serial_max {
                serial_max_rows(
                    w,
                    [a, b, c, d],
                    &pre[..p * *i],
                    &post[..p * *o],
                    &mut row_max,
                    *o,
                    *i,
                );
                continue;
            }
            hebbian::plastic::fused::update_rows(
                w,
                hebbian::plastic::fused::CoefficientRows::F32([a, b, c, d]),
                &pre[..p * *i],
                &post[..p * *o],
                &mut row_max,
                *o,
                *i,
            );
        }
        n += 1;
    }
    (n * p) as f64 / start.elapsed().as_secs_f64()
}

/// `--populations 16,64`: the sizes to bench instead of the defaults.
fn populations() -> Option<Vec<usize>> {
    let args: Vec<String> = std::env::args().collect();
    let list = args
        .windows(2)
        .find(|w| w[0] == "--populations")
        .map(|w| w[1].clone())?;
    Some(
        list.split(',')
            .map(|v| {
                v.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("--populations takes whole numbers, got `{v}`"))
            })
            .collect(),
    )
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 300 } else { 1500 });
    let triad = triad_gbs();
    // One core alone: what a core's share of a memory-bound step can reach when the other
    // cores compute instead of streaming.
    let one_core = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("one-thread pool")
        .install(triad_gbs);
    println!(
        "memory bandwidth (STREAM triad, {} threads): {triad:.1} GB/s; one thread alone: {one_core:.1} GB/s",
        rayon::current_num_threads()
    );
    let ant = Architecture::ant();
    let synapses: usize = ant.layer_shapes().iter().map(|(o, i)| o * i).sum();
    let bytes_per_step = (6 * 4 * synapses) as f64;
    let limit = triad * 1e9 / bytes_per_step;
    println!(
        "Ant update bandwidth limit: {limit:.0} agent-steps/s ({:.0} KB per agent-step)\n",
        bytes_per_step / 1e3
    );

    println!(
        "{:<8} {:<10} {:<10} {:>6} {:>14} {:>9} {:>9}",
        "net", "backend", "kernel", "P", "agent-steps/s", "%triad", "x numpy"
    );
    // `--backend NAME` (repeatable) limits the run to those backends.
    let args: Vec<String> = std::env::args().collect();
    let only: Vec<&str> = args
        .windows(2)
        .filter(|w| w[0] == "--backend")
        .map(|w| w[1].as_str())
        .collect();
    for (name, _) in hebbian::device::BACKENDS {
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        let device = match hebbian::device_from_name(name) {
            Ok(device) => device,
            Err(e @ hebbian::device::DeviceError::NoAdapter) => {
                println!("{name}: skipped: {e}");
                continue;
            }
            Err(_) => continue, // not compiled in
        };
        println!("{name}: {}", hebbian::device::describe(&device));
        let gpu = !hebbian::device::is_cpu(&device);
        for kernel in [UpdateKernel::Fused, UpdateKernel::TensorOps] {
            if kernel == UpdateKernel::Fused
                && !hebbian::kernel::supported(&device)
                && !kernel.cube_on(&device)
            {
                continue;
            }
            // `--populations 16,64` replaces the Ant and CarRacing sizes (e.g. the software
            // Vulkan driver, whose default buffer limits hold only small populations).
            let custom = populations();
            let ant_sizes: &[usize] = if gpu {
                &[1024, 4096, 8192, 16384]
            } else {
                &[1, 64, 1024, 4096]
            };
            let car_sizes: &[usize] = match (gpu, quick) {
                (true, _) => &[256, 1024],
                (false, true) => &[1, 64],
                (false, false) => &[1, 64, 256],
            };
            let car = Architecture::car_racing();
            for (net_name, arch, sizes) in [("ant", &ant, ant_sizes), ("car", &car, car_sizes)] {
                for &p in custom.as_deref().unwrap_or(sizes) {
                    let (mut nets, split) = build_population(arch, p, kernel, &device);
                    let rate = match try_measure(&mut nets, budget, false) {
                        Ok(rate) => rate,
                        Err(e) => {
                            println!(
                                "{net_name:<8} {name:<10} {kernel:?} {p:>6}: the device could not run it: {e}"
                            );
                            continue;
                        }
                    };
                    // The triad is the CPU's; a GPU row states its useful traffic instead.
                    let (pct, numpy, traffic) = match (net_name, gpu) {
                        ("ant", false) => (
                            format!("{:.0}%", 100.0 * rate * bytes_per_step / (triad * 1e9)),
                            format!("{:.2}", rate / NUMPY_ANCHOR),
                            String::new(),
                        ),
                        ("ant", true) => (
                            "-".into(),
                            format!("{:.2}", rate / NUMPY_ANCHOR),
                            format!(" ({:.0} GB/s useful traffic)", rate * bytes_per_step / 1e9),
                        ),
                        _ => ("-".into(), "-".into(), String::new()),
                    };
                    println!(
                        "{net_name:<8} {name:<10} {:<10} {p:>6} {rate:>14.0} {pct:>9} {numpy:>9}{traffic}{split}",
                        nets[0].net.step_kernel(),
                    );
                    // The same with the images uploaded every step: what a rollout pays on top
                    // (observation traffic host → device).
                    if arch.conv.is_some() {
                        match try_measure(&mut nets, budget, true) {
                            Ok(with) => println!(
                                "{net_name:<8} {name:<10} {:<10} {p:>6} {with:>14.0} {:>9} {:>9} (images uploaded every step: {:.2}x)",
                                nets[0].net.step_kernel(),
                                "-",
                                "-",
                                with / rate
                            ),
                            Err(e) => println!("{net_name:<8} {name:<10} {p:>6} with upload: {e}"),
                        }
                    }
                }
            }
        }
    }
    conv_front_end(budget);
    neuron_level(triad, budget);
    merged_rules(triad, budget);
    coefficient_precision(triad, budget);
    for p in [1024, 4096] {
        let rate = hand_loop(p, budget, false);
        let serial = hand_loop(p, budget, true);
        let pct = |r: f64| 100.0 * r * (6 * 4 * synapses) as f64 / (triad * 1e9);
        println!(
            "hand loop (update only, no burn) P={p}: {rate:.0} agent-steps/s, {:.0}% of triad (6 arrays); \
             with one serial max per row (the loop before) {serial:.0}, {:.0}% -> lanes {:.2}x",
            pct(rate),
            pct(serial),
            rate / serial
        );
    }
}
