"""Where a process's wall time goes, by sampling its main thread's Python stack (no profiler, no code changes).

    STACK_SAMPLES=runs/stacks PYTHONPATH=bench/stack_sampler:$PYTHONPATH python train.py ...

Every Python process started with this folder first on PYTHONPATH and STACK_SAMPLES set (launchers and the processes
they start inherit both) writes STACK_SAMPLES/<pid>.txt: its command, wall time, and the seconds each function was on
the stack (inclusive), from samples every STACK_INTERVAL seconds (0.05) weighted by the time since the previous one.
The report is rewritten every 5 s and at exit, so a killed process still leaves one.
"""
import atexit
import collections
import os
import sys
import threading
import time

def _short(filename: str) -> str:
    for marker in ("site-packages/", "/rlhf_course/", "/bench/", "/lib/python3"):
        if marker in filename: return (marker.strip("/") + "/" if marker in ("/rlhf_course/", "/bench/") else "") + filename.split(marker, 1)[1]
    return filename

def _start(folder: str, interval: float):
    t_start, main = time.time(), threading.main_thread().ident
    inclusive, samples, state = collections.Counter(), [0], {"last": time.time(), "written": time.time()}
    path = os.path.join(folder, f"{os.getpid()}.txt")

    lock = threading.Lock()   # the sampling thread and the exit hook both write; never read the counts mid-update

    def write():
        with lock: counts = collections.Counter(inclusive)
        wall = time.time() - t_start
        lines = [f"command: {' '.join(sys.argv)}", f"pid {os.getpid()} parent {os.getppid()}, wall {wall:.1f} s, {samples[0]} samples",
                 f"{'seconds':>8s}  function (inclusive: on the stack)"]
        lines += [f"{sec:8.1f}  {key}" for key, sec in counts.most_common(80) if sec >= 0.2]
        with open(path, "w") as f: f.write("\n".join(lines) + "\n")

    def sample():
        while True:
            time.sleep(interval)
            now = time.time()
            weight, state["last"] = now - state["last"], now
            frame, keys = sys._current_frames().get(main), set()
            while frame is not None:
                keys.add(f"{_short(frame.f_code.co_filename)}:{frame.f_code.co_name}")
                frame = frame.f_back
            with lock:
                for key in keys: inclusive[key] += weight
                samples[0] += 1
            if now - state["written"] > 5: write(); state["written"] = now

    os.makedirs(folder, exist_ok=True)
    threading.Thread(target=sample, daemon=True, name="stack-sampler").start()
    atexit.register(write)

if os.environ.get("STACK_SAMPLES"): _start(os.environ["STACK_SAMPLES"], float(os.environ.get("STACK_INTERVAL", "0.05")))
