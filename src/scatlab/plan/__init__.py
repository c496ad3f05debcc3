"""Torch-free, cached plans of the transforms: padding, subsampling schedule, channel tables."""
from .oned import Plan1D, plan_1d
from .rototranslation import RotoPlan, plan_rototranslation
from .table import ChannelTable
from .timefrequency import PlanTF, plan_tf
from .twod import Plan2D, plan_2d

__all__ = ["ChannelTable", "Plan1D", "Plan2D", "PlanTF", "RotoPlan", "plan_1d", "plan_2d", "plan_rototranslation", "plan_tf"]
