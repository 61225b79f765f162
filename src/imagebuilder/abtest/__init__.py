"""`imagebuilder test`: run sample cases through every variant on a real worker.

cases (the sample file) -> jobs (one rendered graph per case and variant) -> a target
(a ComfyUI server or a RunPod endpoint) runs them -> comparison with the baseline
(SSIM, PSNR, sizes, seconds, dollars) -> a verdict, reports and a measurements file.
Pure functions everywhere but the two target clients and the runner's threads.

May import ``errors``, ``network`` (the retry policy and the command's deadline),
``project`` and ``comfy``.
"""
