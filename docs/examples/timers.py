# timers.py
import asyncio

import otpy


async def main() -> None:
    me = otpy.self_pid()
    ref = otpy.send_after(me, "beat", 0.05)
    print(await otpy.receive(timeout=1))  # beat
    print(otpy.cancel_timer(ref))  # None: it had fired

    ref = otpy.send_after(me, "never", 10)
    print(round(otpy.cancel_timer(ref)))  # 10: the seconds it had left

    ref = otpy.send_after(me, "late", 0)
    await asyncio.sleep(0.01)  # it fires: "late" waits in the mailbox
    print(otpy.message_queue_len(), otpy.cancel_timer(ref), otpy.message_queue_len())  # 1 None 0


asyncio.run(main())
