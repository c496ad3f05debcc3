"""Torch-free, cached plans of the transforms: validated parameters, padding, subsampling schedule,
channel tables; one module per transform."""
from .harmonic3d import Plan3D, plan_3d
from .rototranslation import PlanRoto, plan_roto
from .scattering1d import Plan1D, plan_1d
from .scattering2d import Plan2D, plan_2d
from .table import ChannelTable
from .timefrequency import PlanTF, plan_tf

__all__ = ["ChannelTable", "Plan1D", "Plan2D", "Plan3D", "PlanRoto", "PlanTF", "plan_1d", "plan_2d", "plan_3d",
           "plan_roto", "plan_tf"]
