"""Rows the outbound compliance tests share: customers with numbers, an agent."""

from __future__ import annotations

from console.db import Database
from console.models import Agent, Customer, PhoneNumber


async def add_agent(db: Database, login: str = "ann") -> int:
    """A new agent; its id."""
    async with db.write() as session:
        agent = Agent(login=login, display_name=login.title())
        session.add(agent)
        await session.flush()
        return agent.id


async def add_customer(db: Database, name: str, *numbers: str) -> int:
    """A new customer holding `numbers` (E.164); its id."""
    async with db.write() as session:
        customer = Customer(display_name=name)
        session.add(customer)
        await session.flush()
        session.add_all(PhoneNumber(customer_id=customer.id, e164=n) for n in numbers)
        return customer.id
