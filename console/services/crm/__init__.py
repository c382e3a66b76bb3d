"""The CRM: customers and their numbers, tickets, queues, the agent directory and passwords."""
