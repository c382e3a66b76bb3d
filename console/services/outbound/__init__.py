"""Outbound calling: the compliance layer every dial passes through (docs/outbound.md).

- `gate`: the pure decision per candidate (allowed, or skipped with a reason);
- `compliance`: screens batches through the gate and logs every decision;
- `dnc`, `consent`: the do-not-call lists and consent records;
- `windows` (+ `windows_file`): calling windows in the callee's local time;
- `attempts`: attempt limits and spacing by outcome;
- `optout`: honouring "don't call me again" at once.
"""
