"""Concurrent SIP lines on one box: N scripted patients (one baresip phone each) called at once by the
service through a local kamailio, the whole voice pipeline live (VAD, Whisper, dialog, Kokoro).
Prints, per N, whether every call ended as expected, the service's turn latency (event log: patient's
turn ended → first reply audio) p50/p95, and the CPU the service's process used.

    python bench/bench_sip_lines.py --lines 1,2,4

Needs Debian's kamailio and baresip-core (as the SIP tests do)."""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "followup-dev.yaml"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(lines: int, scenario: dict, *, password: str = "bench-secret-0123456789") -> dict:
    from campaigns.sip import SipEndpoint, SipTelephony
    from evaluation.sip_line import SERVICE_USER, call_scenario_over_sip
    from evaluation.sip_peers import BaresipPhone, Kamailio, free_ports
    from records.db import upgrade
    from suifang.config import load_settings
    from suifang.services import Services

    numbers = [f"1555020{n:04d}" for n in range(lines)]
    with tempfile.TemporaryDirectory(prefix="suifang-bench-sip-") as tmp, \
            Kamailio(users={SERVICE_USER: password, **{n: password for n in numbers}}) as kamailio:
        phones = [BaresipPhone(numbers=[n], registrar=kamailio.address, password=password).__enter__()
                  for n in numbers]
        try:
            assert all(p.wait_registered() for p in phones)
            sip_port, rtp_port = free_ports(2)
            env = dict(os.environ)
            env.update({
                "SUIFANG__DATABASE__URL": f"sqlite:///{tmp}/bench.db", "SUIFANG__KNOWLEDGE__CHROMA_DIR": f"{tmp}/chroma",
                "SUIFANG__SERVICE__DATA_DIR": env.get("SUIFANG__SERVICE__DATA_DIR") or str(Path("var").resolve()),
                "SUIFANG__CAMPAIGNS__TELEPHONY": "sip", "SUIFANG__CAMPAIGNS__SIP__REGISTRAR": f"sip:{kamailio.address}",
                "SUIFANG__CAMPAIGNS__SIP__USERNAME": SERVICE_USER, "SUIFANG__CAMPAIGNS__SIP__BIND": "127.0.0.1",
                "SUIFANG__CAMPAIGNS__SIP__PORT": str(sip_port), "SUIFANG__CAMPAIGNS__SIP__RTP_PORT": str(rtp_port),
                "SUIFANG__CAMPAIGNS__SIP__MAX_CHANNELS": str(lines), "SUIFANG_SIP_PASSWORD": password,
            })
            settings = load_settings(environ=env)
            upgrade(settings.database.url)
            services = Services.build(settings)
            services.voice().warm_up()
            telephony = SipTelephony(settings=settings, services=services)
            telephony.start(inbound=False)
            scenarios = []
            for index, number in enumerate(numbers):
                copied = copy.deepcopy(scenario)
                copied["id"] = f"bench-{lines}-{index}"
                copied["patient"]["phone"] = number
                scenarios.append(copied)
            cpu, began = _cpu(), time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(max_workers=lines) as pool:
                results = list(pool.map(lambda pair: call_scenario_over_sip(pair[0], services=services,
                                                                            telephony=telephony, phone=pair[1]),
                                        zip(scenarios, phones)))
            cpu, wall = _cpu() - cpu, time.monotonic() - began
            SipEndpoint.shutdown_shared()
            services.close()
        finally:
            for phone in phones:
                phone.__exit__()
    for result in results:
        if not result.passed:
            print(f"  {result.id}: {'; '.join(result.differences)}", flush=True)
    latencies = sorted(ms for r in results for ms in r.service_latencies_ms)
    return {
        "lines": lines, "calls_right": sum(r.passed for r in results), "calls": len(results),
        "turn_latency_p50_ms": round(statistics.median(latencies)) if latencies else None,
        "turn_latency_p95_ms": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]) if latencies else None,
        "wall_s": round(wall), "cpu_s": round(cpu, 1), "cores_busy": round(cpu / wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", default="1,2,4", help="numbers of simultaneous calls, comma-separated")
    parser.add_argument("--scenarios", default=str(DEV), help="scenario file (scenario-format.md)")
    parser.add_argument("--scenario", default="dev-en-heart-failure", help="the scenario every line runs")
    args = parser.parse_args()
    import yaml

    scenario = next(s for s in yaml.safe_load(Path(args.scenarios).read_text(encoding="utf-8"))
                    if s["id"] == args.scenario)
    for lines in (int(n) for n in args.lines.split(",")):
        print(run(lines, scenario), flush=True)


if __name__ == "__main__":
    main()
