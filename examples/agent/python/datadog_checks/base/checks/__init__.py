from .base import AgentCheck

__all__ = ["AgentCheck"]
