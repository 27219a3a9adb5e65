"""Treatment profiles, clinic policy and effective safety limits: pure data and pure functions.

Imports nothing else of penctl's. The controller builds `DeviceLimits` from the pen's IDENTIFY
message, loads a `Library` (bundled files plus the clinic directory), looks up the names a person
typed with `Library.find_profile` and `find_area` (an unknown name is an `UnknownName` value), asks
`effective_limits` for an area and checks every requested adjustment with `check_request`.
"""

from profiles.hashing import content_hash
from profiles.issues import Issue
from profiles.limits import (
    Bound,
    Conflict,
    EffectiveLimits,
    Layer,
    LimitFinding,
    LimitsRefusal,
    Quantity,
    RequestCheck,
    RequestVerdict,
    check_request,
    effective_limits,
)
from profiles.loader import (
    CLINIC_DIR_ENV,
    Checked,
    FileKind,
    Library,
    LibraryError,
    Override,
    ProfileEntry,
    check_file,
    check_paths,
    check_text,
    load_library,
)
from profiles.loosening import LoosenedFigure
from profiles.models import (
    SIMULATED_PEN,
    AreaCatalogue,
    AreaSettings,
    AreaSpec,
    ClinicPolicy,
    Contraindication,
    ContraindicationKind,
    DeviceLimits,
    Loosening,
    NumbingPolicy,
    PractitionerLevel,
    Profile,
)
from profiles.names import NameKind, UnknownName
from profiles.units import format_mm, format_sps, mm_to_um, um_to_mm
from profiles.vocabulary import CONCERN_LABELS, Area, Concern, Region

__all__ = [
    "CLINIC_DIR_ENV",
    "CONCERN_LABELS",
    "SIMULATED_PEN",
    "Area",
    "AreaCatalogue",
    "AreaSettings",
    "AreaSpec",
    "Bound",
    "Checked",
    "ClinicPolicy",
    "Concern",
    "Conflict",
    "Contraindication",
    "ContraindicationKind",
    "DeviceLimits",
    "EffectiveLimits",
    "FileKind",
    "Issue",
    "Layer",
    "Library",
    "LibraryError",
    "LimitFinding",
    "LimitsRefusal",
    "LoosenedFigure",
    "Loosening",
    "NameKind",
    "NumbingPolicy",
    "Override",
    "PractitionerLevel",
    "Profile",
    "ProfileEntry",
    "Quantity",
    "Region",
    "RequestCheck",
    "RequestVerdict",
    "UnknownName",
    "check_file",
    "check_paths",
    "check_request",
    "check_text",
    "content_hash",
    "effective_limits",
    "format_mm",
    "format_sps",
    "load_library",
    "mm_to_um",
    "um_to_mm",
]
