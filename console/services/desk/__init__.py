"""The agent's desk: the screen pop, the interaction log, wrap-up dispositions and the
agent's own figures.
"""
