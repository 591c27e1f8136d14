"""Ocean analysis building blocks that stay lazy: climatologies, anomalies, trends, regional means.

Every function takes xarray objects (usually dask-backed, from :func:`odatis_vre.catalog.load`)
and returns **lazy** results: nothing is read until you call ``.compute()``, ``.load()``, plot
or save. They build on reductions that dask splits over chunks (sums, counts, group means),
so a 10-year daily dataset never has to fit in memory, and the same code runs on a laptop,
a Dask Gateway cluster or Kubernetes.

=============================  ================================================================
:func:`climatology`            mean seasonal cycle (by month, season or day of year)
:func:`anomalies`              departures from a climatology
:func:`trend`                  least-squares linear trend per point, per year, with p-value
:func:`regional_mean`          area-weighted (cos latitude) mean over a box
:func:`resample`               change the time step (monthly means, yearly maxima...)
:func:`interp_profiles`        Argo-like profiles onto standard depths
:func:`pressure_to_depth`      sea pressure (dbar) to depth (m), TEOS-10 (``gsw``)
:func:`potential_density`      potential density anomaly σ0 (kg m-3) of profiles, TEOS-10 (``gsw``)
=============================  ================================================================

Example
-------
>>> from odatis_vre import analysis, catalog
>>> sst = catalog.load("sample_sst_zarr").analysed_sst                  # doctest: +SKIP
>>> clim = analysis.climatology(sst)                                   # 12 maps, lazy  # doctest: +SKIP
>>> anom = analysis.anomalies(sst, clim)                               # doctest: +SKIP
>>> analysis.regional_mean(anom, bbox=(-10, 44, -2, 48)).compute()     # doctest: +SKIP
>>> analysis.trend(analysis.resample(sst, "MS")).slope.compute()       # degree_Celsius per year  # doctest: +SKIP

Errors are :class:`AnalysisError`, whose message names the argument and what to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast

import gsw
import numpy as np
import xarray as xr

#: Standard depths (m) for profile interpolation: the 26 upper levels of the World Ocean Atlas.
STANDARD_DEPTHS: tuple[float, ...] = (
    0,
    10,
    20,
    30,
    50,
    75,
    100,
    125,
    150,
    200,
    250,
    300,
    400,
    500,
    600,
    700,
    800,
    900,
    1000,
    1100,
    1200,
    1300,
    1400,
    1500,
    1750,
    2000,
)

_FREQS = {"month": "time.month", "season": "time.season", "dayofyear": "time.dayofyear"}
_HOW = ("mean", "sum", "min", "max", "median", "std", "count")
_SECONDS_PER_YEAR = 365.2425 * 86400.0


class AnalysisError(ValueError):
    """Bad input to an analysis function (the message names the argument and what to change)."""


# ----------------------------------------------------------------------------- helpers


def _check_dataarray(da: Any, func: str) -> xr.DataArray:
    if isinstance(da, xr.Dataset):
        names = list(da.data_vars)
        raise AnalysisError(
            f"{func}() needs one variable (a DataArray), got a Dataset: pick one of "
            f"{names}, e.g. {func}(ds[{names[0]!r}])"
            if names
            else f"{func}(): empty Dataset"
        )
    if not isinstance(da, xr.DataArray):
        raise AnalysisError(f"{func}() needs an xarray.DataArray, got {type(da).__name__}")
    return da


def _check_dim(da: xr.DataArray, dim: str, func: str) -> None:
    if dim not in da.dims:
        raise AnalysisError(
            f"{func}(): {da.name or 'the array'} has no dimension {dim!r} "
            f"(dimensions: {list(da.dims)}); pass dim=... with one of them"
        )


def _time_dim(da: xr.DataArray, dim: str, func: str) -> None:
    _check_dim(da, dim, func)
    if not np.issubdtype(da[dim].dtype, np.datetime64):
        raise AnalysisError(
            f"{func}(): coordinate {dim!r} is {da[dim].dtype}, not datetimes; "
            "decode times (xarray.decode_cf) or pass the right dim"
        )


def _find_coord(obj: xr.DataArray | xr.Dataset, names: Sequence[str], standard_name: str) -> str | None:
    for name in obj.coords:
        if obj[name].attrs.get("standard_name") == standard_name:
            return str(name)
    for name in names:
        if name in obj.coords or name in obj.dims:
            return name
    return None


def lat_lon_names(obj: xr.DataArray | xr.Dataset) -> tuple[str, str]:
    """The names of the latitude and longitude coordinates (CF ``standard_name`` first, then usual names).

    >>> da = xr.DataArray(np.zeros((2, 3)), coords={"y": [0, 1], "x": [0, 1, 2]}, dims=("y", "x"))
    >>> lat_lon_names(da.rename(y="latitude", x="longitude"))
    ('latitude', 'longitude')
    """
    lat = _find_coord(obj, ("lat", "latitude", "LATITUDE", "nav_lat", "y"), "latitude")
    lon = _find_coord(obj, ("lon", "longitude", "LONGITUDE", "nav_lon", "x"), "longitude")
    if lat is None or lon is None:
        raise AnalysisError(
            f"cannot find latitude/longitude coordinates among {list(obj.coords)}; "
            "name them lat/lon or give them standard_name attributes"
        )
    return lat, lon


def select_bbox(da: xr.DataArray | xr.Dataset, bbox: Sequence[float]) -> Any:
    """Subset a regular lat/lon grid to ``(lon_min, lat_min, lon_max, lat_max)`` (lazy).

    Works whichever way latitude runs and with 0..360 longitudes.

    >>> da = xr.DataArray(np.arange(12.).reshape(3, 4), dims=("lat", "lon"),
    ...                   coords={"lat": [50, 45, 40], "lon": [350, 355, 0, 5]})
    >>> select_bbox(da, (-6, 44, 1, 51)).values.tolist()
    [[1.0, 2.0], [5.0, 6.0]]
    """
    from .data.coastlines import CoastlineError, check_bbox

    try:
        w, s, e, n = check_bbox(bbox)
    except CoastlineError as exc:
        raise AnalysisError(str(exc)) from None
    lat, lon = lat_lon_names(da)
    lons = da[lon]
    if float(lons.max()) > 180 and w < 0:
        # the grid is 0..360: compare in -180..180 so a box crossing Greenwich still works
        lon_pm = ((lons + 180) % 360) - 180
    else:
        lon_pm = lons
    lon_ok = (lon_pm >= w) & (lon_pm <= e)
    lat_ok = (da[lat] >= s) & (da[lat] <= n)
    if da[lon].ndim != 1 or da[lat].ndim != 1:
        raise AnalysisError(
            "select_bbox() needs 1-D lat/lon coordinates (a regular grid); for curvilinear "
            "grids use .where() on the 2-D coordinates"
        )
    out = da.isel({lon: np.flatnonzero(lon_ok.values), lat: np.flatnonzero(lat_ok.values)})
    if out.sizes[lat] == 0 or out.sizes[lon] == 0:
        raise AnalysisError(
            f"bbox {tuple(bbox)} does not overlap the data (lat {float(da[lat].min())}.."
            f"{float(da[lat].max())}, lon {float(lons.min())}..{float(lons.max())})"
        )
    return out


def is_lazy(obj: xr.DataArray | xr.Dataset) -> bool:
    """True if every variable of ``obj`` is dask-backed (nothing has been read yet).

    >>> is_lazy(xr.DataArray(np.zeros(3)).chunk())
    True
    """
    variables = [obj.variable] if isinstance(obj, xr.DataArray) else [v.variable for v in obj.data_vars.values()]
    return all(v.chunks is not None for v in variables)


# ----------------------------------------------------------------------------- climatology


def climatology(da: xr.DataArray, freq: str = "month", dim: str = "time") -> xr.DataArray:
    """Mean seasonal cycle: the mean of every January, February... (``freq="month"``).

    ``freq`` is ``"month"`` (12 values), ``"season"`` (DJF, MAM, JJA, SON) or ``"dayofyear"``.
    Missing values are skipped. The result keeps ``da``'s attributes and is lazy.

    >>> t = xr.date_range("2000-01-01", periods=24, freq="MS")
    >>> da = xr.DataArray(np.arange(24.), coords={"time": t}, dims="time")
    >>> climatology(da).sel(month=1).item()           # (0 + 12) / 2
    6.0
    """
    da = _check_dataarray(da, "climatology")
    _time_dim(da, dim, "climatology")
    if freq not in _FREQS:
        raise AnalysisError(f"climatology(freq={freq!r}): use one of {sorted(_FREQS)}")
    key = _FREQS[freq].replace("time", dim)
    if da.chunks is not None and len(da.chunks[da.get_axis_num(dim)]) == 1:
        out = _grouped_mean_blockwise(da, dim, da[key].values, freq)
    elif da.chunks is not None and freq != "dayofyear":
        out = _grouped_mean_by_runs(da, dim, da[key].values, freq)
    else:
        out = da.groupby(key).mean(dim, skipna=True, keep_attrs=True)
    out.attrs["cell_methods"] = (
        out.attrs.get("cell_methods", "") + f" {dim}: mean within years {dim}: mean over years ({freq}ly climatology)"
    ).strip()
    return out.rename(da.name) if da.name else out


def _sum_and_count(block: np.ndarray) -> np.ndarray:
    """``[Σ valid values, number of valid values]`` over the block's first axis, with a leading block axis."""
    x = block.astype(np.float64)
    valid = np.isfinite(x)
    return np.stack([np.where(valid, x, 0.0).sum(0), valid.sum(0, dtype=np.float64)])[None]


#: longest run of consecutive steps summed in float32 (a month of days: ~1e-6 relative error); longer
#: runs (seasons) are summed in float64
_FLOAT32_RUN = 32


def _group_means_block(block: np.ndarray, codes: np.ndarray, ngroups: int) -> np.ndarray:
    """NaN-skipping means of the block's rows (first axis) for each group code, in one pass over the data.

    The block is seen as one series per point (``(points, time)``: a plain view when time varies fastest,
    as in a time-optimised copy's blocks), reduced by :func:`_group_means_series`.

    >>> x = np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)   # 3 steps, 2 points
    >>> _group_means_block(x, np.array([0, 0, 1]), 2).tolist()
    [[2.0, 4.0], [5.0, 6.0]]
    """
    nt = block.shape[0]
    if nt == 0:
        return np.full((ngroups,) + block.shape[1:], np.nan, dtype=_float_type(block.dtype))
    order: Literal["C", "F"] = "F" if block.flags.f_contiguous and not block.flags.c_contiguous else "C"
    means = _group_means_series(block.reshape(nt, -1, order=order).T, codes, ngroups)
    # the means go back to the client: in the data's float type, they weigh half as much
    out = means.T.astype(_float_type(block.dtype))
    return np.ascontiguousarray(out.reshape((ngroups,) + block.shape[1:], order=order))


def _group_means_series(series: np.ndarray, codes: np.ndarray, ngroups: int) -> np.ndarray:
    """``(points, ngroups)`` float64 means of ``series`` (``(points, time)``) over the steps of each group code.

    Each run of consecutive steps of one group (the days of one month) is summed for every point at
    once (``np.add.reduceat``), in float32 while runs are short; only the points whose sums show a
    missing value are summed again, skipping them and counting the valid values (points with no
    value at all, land, are not read again). The runs of each group are then added in float64. No
    temporary as large as the data is made.

    >>> s = np.array([[1.0, 3.0, 5.0], [np.nan, 4.0, 6.0]], dtype=np.float32)   # 2 points, 3 steps
    >>> _group_means_series(s, np.array([0, 0, 1]), 2).tolist()
    [[2.0, 5.0], [4.0, 6.0]]
    """
    if not np.issubdtype(series.dtype, np.floating):
        series = series.astype(np.float64)
    nt = series.shape[1]
    starts = np.r_[0, np.flatnonzero(np.diff(codes)) + 1]
    lengths = np.diff(np.r_[starts, nt])
    acc = series.dtype if lengths.max() <= _FLOAT32_RUN else np.float64
    sums = np.add.reduceat(series, starts, axis=1, dtype=acc)
    counts = np.broadcast_to(lengths, sums.shape)
    gaps = ~np.isfinite(sums).all(axis=1)
    if gaps.any():  # points with missing values (land, clouds): sum and count their valid values only
        counts = counts.copy()
        rows = np.flatnonzero(gaps)
        valid = np.isfinite(series[rows])
        some = valid.any(axis=1)
        sums[rows[~some]], counts[rows[~some]] = 0, 0  # never a value (land): nothing more to read
        rows, valid = rows[some], valid[some]
        if rows.size:
            sums[rows] = np.add.reduceat(np.where(valid, series[rows], 0), starts, axis=1, dtype=acc)
            counts[rows] = np.add.reduceat(valid, starts, axis=1, dtype=np.int64)
    run_groups = codes[starts]
    total = np.zeros((sums.shape[0], ngroups))
    n = np.zeros((sums.shape[0], ngroups))
    for g in np.unique(run_groups):
        mine = run_groups == g
        total[:, g] = sums[:, mine].sum(axis=1, dtype=np.float64)
        n[:, g] = counts[:, mine].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.where(n > 0, n, 1), np.nan)


def _float_type(dtype: np.dtype) -> np.dtype:
    return np.dtype(dtype) if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _grouped_mean_blockwise(da: xr.DataArray, dim: str, keys: np.ndarray, name: str) -> xr.DataArray:
    """Group means when ``dim`` is one chunk (a time-optimised layout): one task per chunk, no exchange.

    An array straight from a time-optimised copy (:func:`odatis_vre.timeseries.open_dataarray`) is
    reduced tile by tile from its mapped chunk files: its blocks are never assembled in memory.
    """
    from . import timeseries

    labels, codes = np.unique(keys, return_inverse=True)
    tiles = timeseries.tile_source(da) if da.dims[0] == dim else None
    if tiles is not None:
        means = tiles.map_series(_group_means_series, labels.size, codes=codes, ngroups=labels.size)
        return _group_result(da, dim, name, labels, means)
    da = da.transpose(dim, ...)
    data = da.data
    means = data.map_blocks(
        _group_means_block,
        codes=codes,
        ngroups=labels.size,
        dtype=data.dtype if np.issubdtype(data.dtype, np.floating) else np.float64,
        chunks=((labels.size,), *data.chunks[1:]),
    )
    return _group_result(da, dim, name, labels, means)


def _group_result(da: xr.DataArray, dim: str, name: str, labels: np.ndarray, data: Any) -> xr.DataArray:
    dtype = da.dtype if np.issubdtype(da.dtype, np.floating) else np.float64
    other = [d for d in da.dims if d != dim]
    coords = {c: v for c, v in da.coords.items() if dim not in v.dims}
    return xr.DataArray(
        data.astype(dtype), dims=(name, *other), coords={**coords, name: labels}, attrs=dict(da.attrs), name=da.name
    )


def _grouped_mean_by_runs(
    da: xr.DataArray, dim: str, keys: np.ndarray, name: str, target_bytes: int = 64 * 2**20
) -> xr.DataArray:
    """Group means of a dask array along ``dim``, as one map-reduce pass over the data.

    xarray's generic groupby indexes every group out of every chunk (several tasks per chunk and
    group). Here time is rechunked into runs of consecutive steps of the same group (a month of
    daily files becomes one chunk of at most ``target_bytes``), each run is reduced to a sum and a
    count, and the runs of each group are summed: a task or two per input chunk, and intermediate
    results smaller than the data.
    """
    import dask.array as dsa

    da = da.transpose(dim, ...)
    labels, codes = np.unique(keys, return_inverse=True)
    data = da.data
    step_bytes = data.dtype.itemsize * int(np.prod([c[0] for c in data.chunks[1:]], dtype=np.int64))
    max_len = max(1, target_bytes // max(step_bytes, 1))
    cuts = np.r_[0, np.flatnonzero(np.diff(codes)) + 1, codes.size]
    lengths: list[int] = []
    for start, stop in zip(cuts[:-1], cuts[1:]):
        n = int(stop - start)
        while n > 0:
            lengths.append(min(n, max_len))
            n -= lengths[-1]
    runs = data.rechunk({0: tuple(lengths)})
    parts = runs.map_blocks(
        _sum_and_count, new_axis=[1], dtype=np.float64, chunks=((1,) * len(lengths), (2,), *runs.chunks[1:])
    )
    run_codes = codes[np.r_[0, np.cumsum(lengths)[:-1]]]
    means = []
    for g in range(labels.size):
        total = parts[np.flatnonzero(run_codes == g)].sum(axis=0, split_every=8)
        means.append(total[0] / dsa.where(total[1] > 0, total[1], np.nan))
    return _group_result(da, dim, name, labels, dsa.stack(means))


def anomalies(
    da: xr.DataArray, clim: xr.DataArray | None = None, freq: str = "month", dim: str = "time"
) -> xr.DataArray:
    """Departures from a climatology (computed from ``da`` itself when ``clim`` is None).

    ``clim`` must have been made with the same ``freq`` (its dimension is ``month``, ``season``
    or ``dayofyear``). Lazy.

    >>> t = xr.date_range("2000-01-01", periods=24, freq="MS")
    >>> da = xr.DataArray(np.arange(24.), coords={"time": t}, dims="time")
    >>> anomalies(da).values[:3].tolist()
    [-6.0, -6.0, -6.0]
    """
    da = _check_dataarray(da, "anomalies")
    _time_dim(da, dim, "anomalies")
    if clim is None:
        clim = climatology(da, freq=freq, dim=dim)
    if freq not in _FREQS:
        raise AnalysisError(f"anomalies(freq={freq!r}): use one of {sorted(_FREQS)}")
    group = _FREQS[freq].split(".")[1]
    if group not in clim.dims:
        raise AnalysisError(
            f"anomalies(): the climatology has dimensions {list(clim.dims)}, expected "
            f"{group!r}; make it with climatology(da, freq={freq!r}) or pass freq="
        )
    key = _FREQS[freq].replace("time", dim)
    out = da.groupby(key) - clim
    out = out.drop_vars(group, errors="ignore")
    out.attrs = {**da.attrs, "long_name": f"{da.attrs.get('long_name', da.name or 'value')} anomaly"}
    out.attrs.pop("standard_name", None)  # an anomaly is not the CF quantity itself
    out.attrs.pop("valid_min", None)
    out.attrs.pop("valid_max", None)
    return out.rename(da.name) if da.name else out


# ----------------------------------------------------------------------------- trend


def trend(da: xr.DataArray, dim: str = "time", alpha: float = 0.05) -> xr.Dataset:
    """Ordinary least-squares linear trend along ``dim``, at every other point, with its significance.

    Returns a Dataset with ``slope`` (units of ``da`` per year when ``dim`` holds datetimes, per
    unit of ``dim`` otherwise), ``intercept`` (value at the first ``dim`` value), ``p_value``
    (two-sided t-test of slope = 0), ``n`` (valid points) and ``significant`` (``p_value < alpha``).

    Computed from five sums (n, Σx, Σy, Σx², Σxy, Σy²) that dask reduces chunk by chunk, so no
    rechunking along time is needed. Missing values are skipped point by point.
    The test assumes independent residuals: on daily data, autocorrelation makes p-values too
    small; deseasonalise (:func:`anomalies`) and :func:`resample` to monthly or yearly first.

    >>> t = xr.date_range("2000-01-01", periods=10, freq="YS")
    >>> da = xr.DataArray(0.5 * np.arange(10) + [0, .1, -.1, 0, .1, -.1, 0, .1, -.1, 0],
    ...                   coords={"time": t}, dims="time")
    >>> tr = trend(da)
    >>> round(float(tr.slope), 2), bool(tr.significant)
    (0.5, True)
    """
    da = _check_dataarray(da, "trend")
    _check_dim(da, dim, "trend")
    if not 0 < alpha < 1:
        raise AnalysisError(f"trend(alpha={alpha}): alpha is a probability, between 0 and 1 (e.g. 0.05)")
    coord = da[dim]
    if np.issubdtype(coord.dtype, np.datetime64):
        seconds = (coord.values - coord.values[0]) / np.timedelta64(1, "s")
        x_vals = seconds / _SECONDS_PER_YEAR
        per = "year"
    elif np.issubdtype(coord.dtype, np.number):
        x_vals = np.asarray(coord.values, dtype=float) - float(coord.values[0])
        per = str(coord.attrs.get("units", dim))
    else:
        raise AnalysisError(f"trend(): coordinate {dim!r} must hold numbers or datetimes, not {coord.dtype}")
    if da.sizes[dim] < 3:
        raise AnalysisError(f"trend(): {da.sizes[dim]} values along {dim!r}; a trend with a p-value needs at least 3")
    # centring x keeps Σx² - (Σx)²/n accurate in float64 for long series
    x0 = float(x_vals.mean())
    x = xr.DataArray(x_vals - x0, dims=dim, coords={dim: coord})
    y = da.astype("float64")
    valid = y.notnull()
    xv = x.where(valid)
    n = valid.sum(dim)
    sx, sy = xv.sum(dim), y.sum(dim, skipna=True)
    sxx, sxy, syy = (xv * xv).sum(dim), (xv * y).sum(dim, skipna=True), (y * y).sum(dim, skipna=True)
    nf = n.where(n > 0)
    cxx = sxx - sx * sx / nf
    cxy = sxy - sx * sy / nf
    cyy = syy - sy * sy / nf
    slope = (cxy / cxx).where(n >= 3)
    intercept = sy / nf - slope * (sx / nf) - slope * x0
    sse = (cyy - slope * cxy).clip(min=0)
    dof = (n - 2).where(n > 2)
    stderr = np.sqrt(sse / dof / cxx)
    p_value = xr.apply_ufunc(_t_pvalue, slope, stderr, dof, dask="parallelized", output_dtypes=[float])
    units = da.attrs.get("units", "")
    out = xr.Dataset(
        {
            "slope": slope.assign_attrs(
                long_name=f"linear trend of {da.attrs.get('long_name', da.name or 'value')}",
                units=f"{units} {per}-1".strip(),
            ),
            "intercept": intercept.assign_attrs(long_name=f"fitted value at {dim}[0]", units=units),
            "p_value": p_value.assign_attrs(long_name="two-sided p-value of the t-test slope = 0"),
            "n": n.assign_attrs(long_name="number of valid values"),
        }
    )
    out["significant"] = (out.p_value < alpha).where(out.p_value.notnull(), False).astype(bool)
    out["significant"].attrs["long_name"] = f"slope significantly different from 0 at the {alpha:g} level"
    out.attrs["alpha"] = alpha
    return out


def _t_pvalue(slope: np.ndarray, stderr: np.ndarray, dof: np.ndarray) -> np.ndarray:
    from scipy import stats

    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(slope / stderr)
        p = 2 * stats.t.sf(t, dof)
    # a perfect fit (stderr 0) is as significant as it gets, unless the line is flat (constant data)
    perfect = (stderr == 0) & np.isfinite(dof)
    return np.where(perfect, np.where(slope != 0, 0.0, 1.0), p)


# ----------------------------------------------------------------------------- spatial and temporal means


def regional_mean(da: xr.DataArray, bbox: Sequence[float] | None = None) -> xr.DataArray:
    """Area-weighted mean over a box (weights cos(latitude); land/missing values skipped). Lazy.

    ``bbox`` is ``(lon_min, lat_min, lon_max, lat_max)``; None means the whole grid.

    >>> da = xr.DataArray([[1.0, 1.0], [3.0, 3.0]], dims=("lat", "lon"), coords={"lat": [0, 60], "lon": [0, 1]})
    >>> round(float(regional_mean(da)), 4)      # weights 1 and 0.5: (2 * 1 + 2 * 3 * 0.5) / 3
    1.6667
    """
    da = _check_dataarray(da, "regional_mean")
    lat, lon = lat_lon_names(da)
    if bbox is not None:
        da = select_bbox(da, bbox)
    # numpy's ufuncs on a DataArray give a DataArray (its stubs say ndarray)
    weights = cast("xr.DataArray", np.cos(np.deg2rad(da[lat].astype("float64"))))
    dims = sorted({*da[lat].dims, *da[lon].dims}, key=list(da.dims).index)
    out = da.weighted(weights.fillna(0)).mean(dims, skipna=True, keep_attrs=True)
    out.attrs["cell_methods"] = (out.attrs.get("cell_methods", "") + " area: mean (cos-latitude weights)").strip()
    if bbox is not None:
        out.attrs["bbox"] = list(map(float, bbox))
    return out


def resample(da: xr.DataArray, freq: str, how: str = "mean", dim: str = "time") -> xr.DataArray:
    """Change the time step: ``freq`` is a pandas offset (``"MS"`` monthly, ``"YS"`` yearly, ``"7D"``...).

    ``how`` is one of mean, sum, min, max, median, std, count. Lazy.

    >>> t = xr.date_range("2000-01-01", periods=60, freq="D")
    >>> da = xr.DataArray(np.arange(60.), coords={"time": t}, dims="time")
    >>> resample(da, "MS").values.tolist()        # Jan: 0..30, Feb: 31..59
    [15.0, 45.0]
    """
    import pandas as pd

    da = _check_dataarray(da, "resample")
    _time_dim(da, dim, "resample")
    if how not in _HOW:
        raise AnalysisError(f"resample(how={how!r}): use one of {', '.join(_HOW)}")
    try:
        pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        raise AnalysisError(
            f"resample(freq={freq!r}): not a pandas frequency; e.g. 'MS' (month start), "
            "'YS' (year), 'QS-DEC' (seasons), '7D'"
        ) from None
    out = getattr(da.resample({dim: freq}), how)(keep_attrs=True)
    out.attrs["cell_methods"] = (out.attrs.get("cell_methods", "") + f" {dim}: {how} ({freq})").strip()
    return out


# ----------------------------------------------------------------------------- profiles


def _depth_np(pres: Any, lat: Any) -> Any:
    return -gsw.z_from_p(np.asarray(pres, dtype="float64"), np.asarray(lat, dtype="float64"))


def pressure_to_depth(pres: Any, lat: Any) -> Any:
    """Depth (m, positive down) from sea pressure (dbar) and latitude (°), TEOS-10 (``gsw.z_from_p``).

    Numbers, numpy arrays or (lazy) xarray objects; xarray in gives xarray out, still lazy.

    >>> round(float(pressure_to_depth(10000.0, 30.0)), 1)    # UNESCO 1983 gave 9712.653 m
    9713.7
    """
    if isinstance(pres, xr.DataArray) or isinstance(lat, xr.DataArray):
        return xr.apply_ufunc(_depth_np, pres, lat, dask="parallelized", output_dtypes=[np.float64])
    out = _depth_np(pres, lat)
    return float(out) if np.ndim(out) == 0 else out


def _sigma0_np(sp: Any, t: Any, p: Any, lon: Any, lat: Any) -> Any:
    sa = gsw.SA_from_SP(sp, p, lon, lat)
    return gsw.sigma0(sa, gsw.CT_from_t(sa, t, p))


def potential_density(
    ds: xr.Dataset,
    temp: str = "TEMP",
    psal: str = "PSAL",
    pres: str = "PRES",
    lon: str = "LONGITUDE",
    lat: str = "LATITUDE",
) -> xr.DataArray:
    """Potential density anomaly σ0 (kg m-3, referenced to 0 dbar) of Argo-like profiles, TEOS-10 (``gsw``).

    In-situ temperature and practical salinity become Conservative Temperature and Absolute Salinity
    (``gsw.SA_from_SP``, ``gsw.CT_from_t``) at each profile's position, then ``gsw.sigma0``. Lazy.

    >>> from odatis_vre import samples
    >>> ds = samples.argo_dataset(n_floats=1, n_cycles=1, n_levels=10)
    >>> s0 = potential_density(ds)
    >>> bool((s0.isel(N_LEVELS=-1) > s0.isel(N_LEVELS=0)).all()), s0.attrs["units"]   # denser at depth
    (True, 'kg m-3')
    """
    missing = [v for v in (temp, psal, pres, lon, lat) if v not in ds.variables]
    if missing:
        raise AnalysisError(
            f"potential_density(): the dataset has no {', '.join(missing)}; pass the names of its "
            f"temperature, salinity, pressure, longitude and latitude (temp=, psal=, pres=, lon=, lat=)"
        )
    args = [ds[v].astype("float64") for v in (psal, temp, pres, lon, lat)]
    out = xr.apply_ufunc(_sigma0_np, *args, dask="parallelized", output_dtypes=[np.float64])
    out.attrs = {
        "standard_name": "sea_water_sigma_theta",
        "long_name": "potential density anomaly (σ0, TEOS-10)",
        "units": "kg m-3",
    }
    return out.rename("SIGMA0")


def _interp_block(z: np.ndarray, values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Linear interpolation of each row of ``values`` (on depths ``z``) onto ``levels``; no extrapolation."""
    out = np.full(z.shape[:-1] + (levels.size,), np.nan)
    z2 = z.reshape(-1, z.shape[-1])
    v2 = values.reshape(-1, values.shape[-1])
    o2 = out.reshape(-1, levels.size)
    for i in range(z2.shape[0]):
        ok = np.isfinite(z2[i]) & np.isfinite(v2[i])
        if ok.sum() < 2:
            continue
        order = np.argsort(z2[i][ok])
        zi, vi = z2[i][ok][order], v2[i][ok][order]
        o2[i] = np.interp(levels, zi, vi, left=np.nan, right=np.nan)
    return out


def interp_profiles(
    ds: xr.Dataset,
    depths: Sequence[float] = STANDARD_DEPTHS,
    variables: Sequence[str] | None = None,
    pres: str = "PRES",
    lat: str = "LATITUDE",
    level_dim: str = "N_LEVELS",
) -> xr.Dataset:
    """Interpolate Argo-like profiles (``N_PROF × N_LEVELS``, on pressure) onto standard ``depths`` (m).

    Pressure is converted to depth with :func:`pressure_to_depth` at each profile's latitude, then
    every variable is linearly interpolated between valid measurements; depths above the first or
    below the last valid measurement are left missing (no extrapolation). Per-profile variables
    (time, position, platform) are kept. The result has a ``depth`` dimension and is lazy.

    ``variables`` defaults to every variable on ``(N_PROF, N_LEVELS)`` except the pressure.

    >>> ds = xr.Dataset({"PRES": (("N_PROF", "N_LEVELS"), [[0., 100., 200.]]),
    ...                  "TEMP": (("N_PROF", "N_LEVELS"), [[20., 10., 5.]]),
    ...                  "LATITUDE": ("N_PROF", [0.0])})
    >>> interp_profiles(ds, depths=[50.0, 150.0, 500.0]).TEMP.round(2).values.tolist()
    [[14.97, 7.46, nan]]
    """
    if not isinstance(ds, xr.Dataset):
        raise AnalysisError(f"interp_profiles() needs an xarray.Dataset of profiles, got {type(ds).__name__}")
    for name in (pres, lat):
        if name not in ds.variables:
            raise AnalysisError(
                f"interp_profiles(): no variable {name!r} in the dataset "
                f"(variables: {sorted(map(str, ds.variables))}); pass pres=/lat="
            )
    _check_dim(ds[pres], level_dim, "interp_profiles")
    levels = np.asarray(depths, dtype=float)
    if levels.ndim != 1 or levels.size == 0 or not np.all(np.diff(levels) > 0) or levels[0] < 0:
        raise AnalysisError(f"interp_profiles(depths={list(depths)!r}): give increasing depths in metres, ≥ 0")
    if variables is None:
        variables = [
            str(v)
            for v in ds.data_vars
            if v != pres and level_dim in ds[v].dims and np.issubdtype(ds[v].dtype, np.number)
        ]
    missing = [v for v in variables if v not in ds.data_vars]
    if missing:
        raise AnalysisError(
            f"interp_profiles(): no variable {missing} in the dataset; "
            f"profile variables are {[v for v in ds.data_vars if level_dim in ds[v].dims]}"
        )
    z = pressure_to_depth(ds[pres].astype("float64"), ds[lat].astype("float64"))
    z = z.chunk({level_dim: -1}) if z.chunks is not None else z
    result = {}
    for name in variables:
        var = ds[name]
        var = var.chunk({level_dim: -1}) if var.chunks is not None else var
        interp = xr.apply_ufunc(
            _interp_block,
            z,
            var.astype("float64"),
            input_core_dims=[[level_dim], [level_dim]],
            output_core_dims=[["depth"]],
            kwargs={"levels": levels},
            dask="parallelized",
            output_dtypes=[np.float64],
            dask_gufunc_kwargs={"output_sizes": {"depth": levels.size}},
        )
        result[name] = interp.astype(var.dtype if np.issubdtype(var.dtype, np.floating) else np.float64)
        result[name].attrs = dict(var.attrs)
    keep = {str(v): ds[v] for v in ds.data_vars if level_dim not in ds[v].dims}
    out = xr.Dataset({**keep, **result}, attrs=dict(ds.attrs))
    out = out.assign_coords(
        depth=(
            "depth",
            levels,
            {"standard_name": "depth", "units": "m", "positive": "down", "axis": "Z", "long_name": "standard depth"},
        )
    )
    out.attrs["processing"] = (
        f"profiles interpolated linearly onto {levels.size} standard depths "
        "(pressure to depth: TEOS-10, gsw.z_from_p) by odatis_vre.analysis.interp_profiles"
    )
    return out
