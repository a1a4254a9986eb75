"""Records the gym reference files used by tests/car_racing_gym_reference.rs.

Environment used: Python 3.11 venv with Box2D==2.3.10, pyglet==1.5.0, gym==0.17.3,
cloudpickle<1.7, numpy, opencv-python-headless; Debian xvfb + libgl1-mesa-dri; run as
`Xvfb :99 & DISPLAY=:99 python gym_record.py`. Two shims for today's numpy/SWIG: binary
`np.fromstring` is mapped to `np.frombuffer`, and gym's car_dynamics.py line
`w.joint.motorSpeed = dir*min(50.0*val, 3.0)` must be wrapped in float() (edit the installed file).
"""
import json, math, sys
import numpy as np

_fs = np.fromstring
np.fromstring = lambda s, dtype=float, count=-1, sep='': (
    np.frombuffer(s, dtype=dtype).copy() if sep == '' else _fs(s, dtype=dtype, count=count, sep=sep))
import cv2  # noqa: E402
import gym  # noqa: E402


def record(seed, steps, mode):
    """Runs §9 pure pursuit ('pursuit') or tanh/sigmoid-shaped wobbly actions ('net')."""
    env = gym.make('CarRacing-v0')
    env.seed(seed)
    frames = [env.reset().copy()]
    u = env.unwrapped
    track, k = u.track, 0
    n = len(track)
    ph = np.random.RandomState(seed).uniform(0, 6.28, size=6)
    actions, rewards, states = [], [], []
    for t in range(steps):
        x, y = u.car.hull.position
        k = min(((track[(k + n + d - 5) % n][2] - x) ** 2 + (track[(k + n + d - 5) % n][3] - y) ** 2,
                 (k + n + d - 5) % n) for d in range(35))[1]
        tx, ty = track[(k + 6) % n][2:4]
        err = (math.atan2(-(tx - x), ty - y) - u.car.hull.angle + math.pi) % (2 * math.pi) - math.pi
        sp = math.hypot(*u.car.hull.linearVelocity)
        a = [np.clip(-2 * err, -1, 1), 0.6 if sp < 45 else 0.0, 0.5 if sp > 60 else 0.0]
        if mode == 'net':
            o = [2.5 * math.sin(0.05 * t + ph[0]) + 1.5 * math.sin(0.13 * t + ph[1]) - 2 * err,
                 2 * math.sin(0.07 * t + ph[2]) + 1.0, 3 * math.sin(0.03 * t + ph[3]) - 3.5]
            a = [math.tanh(o[0]), 1 / (1 + math.exp(-o[1])), 1 / (1 + math.exp(-o[2]))]
        a = np.array(a, dtype=np.float32)
        obs, r, done, _ = env.step(a)
        actions.append(a); rewards.append(r); frames.append(obs.copy())
        states.append([*u.car.hull.position, u.car.hull.angle, u.car.wheels[0].joint.angle])
        if done:
            break
    return np.array(actions), np.array(rewards), frames, states


def export(seed, steps, mode, name, frame_steps, pose_steps):
    actions, rewards, frames, st = record(seed, steps, mode)
    np.savetxt(f'{name}_actions.csv', actions, delimiter=',', fmt='%.9g', header='steer,gas,brake', comments='')
    for s in frame_steps:
        cv2.imwrite(f'{name}_gym_frame{s:04d}.png', cv2.cvtColor(frames[s], cv2.COLOR_RGB2BGR))
    json.dump({'source': f'gym 0.17.3 CarRacing-v0 (Box2D 2.3.10, pyglet 1.5.0, Mesa llvmpipe under Xvfb), env.seed({seed})',
               'step_rewards': [float(r) for r in rewards],
               'hull': {str(s): [float(v) for v in st[s - 1][:3]] for s in pose_steps},
               'front_joint': {str(s): float(st[s - 1][3]) for s in pose_steps}}, open(f'{name}_gym.json', 'w'))


def export_idle(seed=0, steps=600):
    """Frame after `steps` no-op steps: the negative "-0xx" score label."""
    env = gym.make('CarRacing-v0')
    env.seed(seed)
    env.reset()
    for _ in range(steps):
        obs, _, _, _ = env.step([0.0, 0.0, 0.0])
    cv2.imwrite(f'gym_seed{seed}_idle_gym_frame{steps:04d}.png', cv2.cvtColor(obs, cv2.COLOR_RGB2BGR))


def negative_glyphs(seeds=(0, 1, 2, 3)):
    """Prints src/env/car_racing/glyphs.rs NEG_TABLE: label cells of idle runs ("-001".."-092").

    The frame shows the total *before* the step's -0.1, so the label is "%04i" % (reward + 0.1).
    """
    tab = {}
    for seed in seeds:
        env = gym.make('CarRacing-v0')
        env.seed(seed)
        env.reset()
        u = env.unwrapped
        for _ in range(1000):
            obs, _, done, _ = env.step([0.0, 0.0, 0.0])
            rb = u.reward + 0.1
            if rb > -1 or abs(rb - round(rb)) < 1e-6:
                continue
            lab = "%04i" % rb
            for pos, c0 in enumerate((4, 7, 10)):
                tab[(pos, lab[1 + pos])] = obs[88:93, c0:c0 + 2, 0]
            if done:
                break
    for pos in range(3):
        print(f'N{pos} ' + ' '.join(d + ':' + '/'.join(''.join(f'{x:02x}' for x in r) for r in tab[(pos, d)])
                                    for d in '0123456789' if (pos, d) in tab))


if __name__ == '__main__':
    export_idle()
    negative_glyphs()
    export(1000, 1000, 'pursuit', 'gym_seed1000_pursuit', [0, 241, 500, 1000], [100, 241, 242, 500, 1000])
    export(42, 400, 'net', 'gym_seed42_net', [100, 200, 300], [100, 200, 300, 400])
