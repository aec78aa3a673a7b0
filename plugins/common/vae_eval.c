/* plugins/common/vae_eval.c — the `vae.decoder` evaluator (pictor/eval.h):
 * opens the case's AutoencoderKL folder through the host's weights API,
 * runs the decoder every family's decode uses on input `latents` and
 * returns `sample`. */
#include <stdio.h>
#include <string.h>

#include "pictor/common_host.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"
#include "pictor/vae.h"
#include "pictor/params.h"

int pictor_eval_vae_decoder(const struct pictor_eval_request *req,
                            const struct pictor_eval_io *io, char *err, size_t errlen)
{
    struct pictor_vae_config cfg;
    const struct pictor_host_api *host = pictor_common_host();
    struct pictor_wsource src = {0};
    struct pictor_vae_decoder *dec = NULL;
    pictor_backend *be = req->backend;
    pictor_tensor lat_host, lat = {0}, img = {0};
    int rc;
    if (!req->model_dir) {
        snprintf(err, errlen, "vae.decoder needs a model folder");
        return PICTOR_E_INVALID;
    }
    if ((rc = pictor_vae_config_load(req->model_dir, &cfg, err, errlen)))
        return rc;
    if (!host) {
        snprintf(err, errlen, "vae.decoder: no host API set (pictor_common_set_host)");
        return PICTOR_E_INVALID;
    }
    cfg.compute_dtype = pictor_precision_compute_dtype(req->precision);
    if ((rc = host->weights_open(req->model_dir, false, &src, err, errlen)))
        return rc;
    if ((rc = pictor_vae_decoder_open(&cfg, &src, be, &dec, err, errlen)))
        goto out;
    if ((rc = io->get_input(io->ctx, "latents", &lat_host))) {
        snprintf(err, errlen, "input 'latents' missing");
        goto out;
    }
    /* latents on the backend's device, contiguous f32 */
    if ((rc = pictor_tensor_alloc(be, &lat, PICTOR_F32, lat_host.ndim, lat_host.shape)))
        goto be_fail;
    if (pictor_backend_device(be) == PICTOR_DEVICE_CPU)
        rc = pictor_copy(be, &lat_host, &lat);
    else if (lat_host.dtype == PICTOR_F32 && pictor_tensor_is_contiguous(&lat_host))
        rc = pictor_backend_upload(be, lat.data, lat_host.data, pictor_tensor_nbytes(&lat));
    else {
        snprintf(err, errlen, "input 'latents' must be contiguous f32");
        rc = PICTOR_E_INVALID;
        goto out;
    }
    if (rc)
        goto be_fail;
    const int s = pictor_vae_scale(&cfg);
    int64_t shape[4] = {lat.shape[0], cfg.out_channels, lat.shape[2] * s, lat.shape[3] * s};
    if (lat.ndim != 4) {
        snprintf(err, errlen, "input 'latents' must be [B, C, h, w]");
        rc = PICTOR_E_INVALID;
        goto out;
    }
    if ((rc = pictor_tensor_alloc(be, &img, PICTOR_F32, 4, shape)))
        goto be_fail;
    if ((rc = pictor_vae_decode(dec, &lat, &img, err, errlen)))
        goto out;
    rc = io->put_output(io->ctx, "sample", &img);
    goto out;
be_fail:
    snprintf(err, errlen, "%s", pictor_backend_error(be));
out:
    pictor_tensor_free(be, &img);
    pictor_tensor_free(be, &lat);
    pictor_vae_decoder_close(dec);
    host->weights_close(&src);
    return rc;
}
