"""Treatment profiles, clinic policy and effective safety limits: pure data and pure functions.

Imports nothing else of penctl's. The controller builds `DeviceLimits` from the pen's IDENTIFY
message, asks `effective_limits` for an
area and checks every requested adjustment with `check_request`.
"""

from profiles.hashing import content_hash
from profiles.limits import (
    Bound,
    Conflict,
    EffectiveLimits,
    Finding,
    Layer,
    LimitsRefusal,
    Quantity,
    RequestCheck,
    Verdict,
    check_request,
    effective_limits,
)
from profiles.models import (
    SIMULATED_PEN,
    AreaCatalogue,
    AreaSettings,
    AreaSpec,
    ClinicPolicy,
    Contraindication,
    ContraindicationKind,
    DeviceLimits,
    NumbingPolicy,
    PractitionerLevel,
    Profile,
)
from profiles.units import format_mm, format_sps, mm_to_um, um_to_mm
from profiles.vocabulary import CONCERN_LABELS, Area, Concern, Region

__all__ = [
    "CONCERN_LABELS",
    "SIMULATED_PEN",
    "Area",
    "AreaCatalogue",
    "AreaSettings",
    "AreaSpec",
    "Bound",
    "ClinicPolicy",
    "Concern",
    "Conflict",
    "Contraindication",
    "ContraindicationKind",
    "DeviceLimits",
    "EffectiveLimits",
    "Finding",
    "Layer",
    "LimitsRefusal",
    "NumbingPolicy",
    "PractitionerLevel",
    "Profile",
    "Quantity",
    "Region",
    "RequestCheck",
    "Verdict",
    "check_request",
    "content_hash",
    "effective_limits",
    "format_mm",
    "format_sps",
    "mm_to_um",
    "um_to_mm",
]
