#!/usr/bin/env python3
"""Writes the queue_fuzzer seeds (corpus/queue/README.md has the byte layout).

Run from anywhere: python3 corpus/queue/make_seeds.py
"""
import pathlib

KINDS = {name: i for i, name in enumerate(
    ("arrive retrieve complete complete_twice requeue forward ready_notify start stop purge drain cancel "
     "power_down power_up").split())}
STATUS = {"success": 0, "unsuccessful": 1, "cancelled": 2, "invalid_device_request": 3}


def op(kind, r=0, q=0, flag=False, status="success"):
    return bytes([KINDS[kind] | (0x10 if flag else 0) | (STATUS[status] << 5), r | (q << 4)])


def device(dispatch="manual", second_queue=False, canceled_q0=False, canceled_q1=False, configured=False,
           power=False):
    d = {"manual": 0, "sequential": 1, "parallel": 2}[dispatch]
    return d | second_queue << 2 | canceled_q0 << 3 | canceled_q1 << 4 | configured << 5 | power << 6


def seed(dev, ops, choices=b""):
    return bytes([dev, len(ops)]) + b"".join(ops) + choices


A = op("arrive")
REGISTER = op("ready_notify", flag=True)

SEEDS = {
    "case26_ready_edges": seed(device(), [
        REGISTER, A, A, op("retrieve"), op("retrieve"), op("retrieve"), A,
        op("complete", 0), op("complete", 1), op("retrieve"), op("complete", 2)]),
    "case27_register_after_arrivals": seed(device(), [
        A, A, REGISTER, REGISTER, op("ready_notify"), op("stop"), op("ready_notify"), op("start"),
        op("retrieve"), op("retrieve"), op("complete", 0), op("complete", 1)]),
    "case27_parallel_refuses": seed(device("parallel"), [
        REGISTER, op("retrieve"), A, A, op("complete", 0), op("complete", 1, status="unsuccessful")]),
    "case27_sequential": seed(device("sequential"), [
        REGISTER, A, A, op("complete", 0), op("complete", 1), op("retrieve")]),
    "case28_stopped_holds": seed(device(), [
        REGISTER, op("stop"), A, op("retrieve"), op("start"), op("retrieve"), op("complete", 0)]),
    "case29_purge": seed(device(), [
        A, A, A, op("retrieve"), op("purge", flag=True), A, op("complete", 0)]),
    "case29_second_stop_complete_fatal": seed(device(), [
        A, op("retrieve"), op("stop", flag=True), op("stop"), op("stop", flag=True)]),
    "drain": seed(device(), [
        A, A, op("drain", flag=True), op("retrieve"), op("complete", 0), op("retrieve"), op("complete", 1), A]),
    "cancel_queued_canceled_on_queue": seed(device(canceled_q0=True), [
        A, op("cancel", 0), A, op("retrieve"), op("requeue", 1), op("cancel", 1)]),
    "cancel_owned": seed(device(), [A, op("retrieve"), op("cancel", 0), op("complete", 0, status="cancelled")]),
    "requeue_fires_ready": seed(device(), [
        REGISTER, A, op("retrieve"), op("requeue", 0), op("retrieve"), op("complete", 0)], b"\x01\x00\x01"),
    "forward_to_second_queue": seed(device(second_queue=True), [
        op("ready_notify", q=1, flag=True), A, op("retrieve"), op("forward", 0, q=1), op("retrieve", q=1),
        op("complete", 0)]),
    "misuse_completion": seed(device(), [
        A, op("complete", 0), op("retrieve"), op("complete_twice", 0), op("complete", 0)]),
    "misuse_requeue_not_owned": seed(device(), [A, op("requeue", 0), op("retrieve"), op("complete", 0)]),
    "sequential_configured_stop_start": seed(device("sequential", configured=True), [
        A, A, A, op("stop", flag=True), op("complete", 0), op("start"), op("complete", 1), op("complete", 2)]),
    "parallel_stop_start_purge": seed(device("parallel"), [
        A, op("stop"), A, A, op("start"), op("complete", 0), op("complete", 1), op("complete", 2),
        op("purge", flag=True)], b"\x01\x01\x01\x01"),
    "stop_complete_survives_start": seed(device(), [
        A, A, op("retrieve"), op("stop", flag=True), op("start"), op("complete", 0), op("retrieve"),
        op("complete", 1)]),
    "register_after_polled_edge": seed(device(), [A, op("retrieve"), REGISTER, op("complete", 0)]),
    "power_down_holds_then_notifies": seed(device(power=True), [
        REGISTER, A, op("retrieve"), op("power_down"), A, op("retrieve"), op("power_up"), op("retrieve"),
        op("complete", 0), op("complete", 1)]),
    "power_sequential_resume": seed(device("sequential", power=True), [
        A, A, op("power_down"), op("complete", 0), op("power_up"), op("complete", 1)]),
    "power_requeue_while_off": seed(device(second_queue=True, power=True), [
        A, A, op("retrieve"), op("retrieve"), op("power_down"), op("requeue", 1), op("forward", 0, q=1),
        op("power_up"), op("retrieve"), op("retrieve", q=1), op("complete", 1), op("complete", 0)]),
}

if __name__ == "__main__":
    out = pathlib.Path(__file__).resolve().parent / "seeds"
    out.mkdir(exist_ok=True)
    for name, data in SEEDS.items():
        (out / name).write_bytes(data)
    print(f"wrote {len(SEEDS)} seeds to {out}")
