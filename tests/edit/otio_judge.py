"""OpenTimelineIO (PyPI's, not ours) as the outside judge of Slate's .otio.

  otio_judge.py describe FILE   reads FILE with opentimelineio and prints, as
                                JSON, every track's children (schema, name,
                                ranges, transitions) and the duration it
                                computes
  otio_judge.py write FILE      writes the test's cut: 3 clips, a dissolve,
                                a gap and a marker, at 25 fps
"""

import json
import sys

import opentimelineio as otio


def rational(t):
    return {"value": t.value, "rate": t.rate}


def describe(path):
    timeline = otio.adapters.read_from_file(path)
    tracks = []
    for track in timeline.tracks:
        children = []
        for child in track:
            if isinstance(child, otio.schema.Transition):
                children.append({
                    "schema": "Transition",
                    "type": child.transition_type,
                    "in": rational(child.in_offset),
                    "out": rational(child.out_offset),
                })
                continue
            entry = {
                "schema": child.schema_name(),
                "name": child.name,
                "start": rational(child.source_range.start_time),
                "duration": rational(child.source_range.duration),
                "placed": rational(track.range_of_child(child).start_time),
            }
            if isinstance(child, otio.schema.Clip):
                entry["media"] = child.media_reference.target_url
                entry["effects"] = [e.effect_name for e in child.effects]
                entry["markers"] = [m.name for m in child.markers]
            children.append(entry)
        tracks.append({"name": track.name, "kind": track.kind, "children": children})
    print(json.dumps({"name": timeline.name, "duration": rational(timeline.duration()), "tracks": tracks}))


def write(path):
    rate = 25
    t = lambda frames: otio.opentime.RationalTime(frames, rate)
    r = lambda start, duration: otio.opentime.TimeRange(t(start), t(duration))
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for name, start, duration in [("one", 0, 50), ("two", 25, 40), ("three", 10, 30)]:
        clip = otio.schema.Clip(
            name=name,
            media_reference=otio.schema.ExternalReference(target_url=f"media/{name}.mp4"),
            source_range=r(start, duration),
        )
        video.append(clip)
        if name == "one":
            video.append(otio.schema.Transition(
                name="dissolve",
                transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                in_offset=t(12),
                out_offset=t(13),
            ))
        if name == "two":
            video.append(otio.schema.Gap(source_range=r(0, 20)))
    video[0].markers.append(otio.schema.Marker(name="clap", marked_range=r(5, 0), color=otio.schema.MarkerColor.GREEN))
    timeline = otio.schema.Timeline(name="judged")
    timeline.tracks.append(video)
    otio.adapters.write_to_file(timeline, path)
    print(json.dumps({"duration": rational(timeline.duration())}))


if __name__ == "__main__":
    {"describe": describe, "write": write}[sys.argv[1]](sys.argv[2])
