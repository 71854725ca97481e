/* dae/model.h: models: the .dae network and its parameters, finding and
 * loading models by name.
 * Part of the dae API: include <dae.h>, which includes every part. */
#ifndef DAE_DAE_MODEL_H
#define DAE_DAE_MODEL_H

#include <dae/common.h>

G_BEGIN_DECLS

/* Layer kinds; the numeric values are those of the .dae file (dae-model(5)). */
typedef enum {
  DAE_LAYER_CONV3X3 = 1,  /* 3x3 convolution, 'same' zero padding, + bias */
  DAE_LAYER_MAXPOOL2 = 2, /* 2x2 max-pool, stride 2, Keras 'same' (ceil) */
  DAE_LAYER_UPSAMPLE2 = 3,/* 2x nearest-neighbour upsampling */
  DAE_LAYER_CONVT2X2 = 4, /* 2x2 stride-2 transposed convolution, + bias */
  DAE_LAYER_ADD = 5,      /* previous output + output of layer `source` */
  DAE_LAYER_CONCAT = 6    /* channels of previous output, then of `source` */
} DaeLayerKind;

typedef enum {
  DAE_ACT_NONE = 0,
  DAE_ACT_RELU = 1,
  DAE_ACT_SIGMOID = 2
} DaeActivation;

/* The index used as `source` to refer to the network's input. */
#define DAE_SOURCE_INPUT (-1)

typedef struct _DaeModel DaeModel;

/**
 * dae_model_new:
 * @channels: channels of the input and of the output (1 for grayscale)
 * @patch_height: height of the patches the model is meant for (e.g. 28)
 * @patch_width: width of those patches
 * @error: return location for an error
 *
 * Creates an empty model, to which layers are added with
 * dae_model_add_layer().  Parameters start at zero.
 *
 * Returns: (transfer full): a new model, or NULL if a size is out of range.
 */
DAE_API DaeModel *dae_model_new (guint channels, guint patch_height,
                         guint patch_width, GError **error);

/**
 * dae_model_add_layer:
 * @model: a model
 * @kind: the kind of layer
 * @activation: activation applied to its output (conv, convt and add only)
 * @out_channels: output channels (conv and convt only; 0 otherwise)
 * @source: for add/concat, the index of an earlier layer or DAE_SOURCE_INPUT;
 *   ignored otherwise
 * @error: return location for an error
 *
 * Appends a layer; its input is the output of the previous layer.  Shapes
 * are checked at the model's patch size.
 *
 * Returns: TRUE on success, FALSE if the layer does not fit the network.
 */
DAE_API gboolean dae_model_add_layer (DaeModel *model, DaeLayerKind kind,
                              DaeActivation activation, guint out_channels,
                              int source, GError **error);

/**
 * dae_model_load_file:
 * @path: a .dae file
 * @error: return location for an error
 *
 * Reads and fully validates a model file (see dae-model(5)).
 *
 * Returns: (transfer full): the model, or NULL with @error set naming the
 * problem (I/O, truncation, CRC, version, inconsistent shapes, sizes).
 */
DAE_API DaeModel *dae_model_load_file (const char *path, GError **error);

/**
 * dae_model_load_memory:
 * @data: the bytes of a .dae file
 * @size: their number
 * @error: return location for an error
 *
 * Like dae_model_load_file(), from memory.  @data is not retained.
 *
 * Returns: (transfer full): the model, or NULL with @error set.
 */
DAE_API DaeModel *dae_model_load_memory (const void *data, size_t size,
                                 GError **error);

/**
 * dae_model_save_memory:
 * @model: a model
 * @size: (out): the number of bytes returned
 *
 * Serialises the model to the .dae format.
 *
 * Returns: (transfer full): the bytes, to be freed with g_free().
 */
DAE_API guint8 *dae_model_save_memory (const DaeModel *model, size_t *size);

/**
 * dae_model_save_file:
 * @model: a model
 * @path: where to write it
 * @error: return location for an error
 *
 * Writes the model atomically (temporary file, then rename), so @path holds
 * either its old content or the complete new model.
 *
 * Returns: TRUE on success.
 */
DAE_API gboolean dae_model_save_file (const DaeModel *model, const char *path,
                              GError **error);

/**
 * dae_model_copy:
 * @model: a model
 *
 * Returns: (transfer full): a deep copy of @model.
 */
DAE_API DaeModel *dae_model_copy (const DaeModel *model);

/**
 * dae_model_free:
 * @model: (nullable): a model
 *
 * Frees a model.  Returns: nothing.
 */
DAE_API void dae_model_free (DaeModel *model);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaeModel, dae_model_free)

/**
 * dae_model_describe:
 * @model: a model
 *
 * A Keras-summary()-like table: one row per layer with its kind,
 * output shape and parameter count, then the total.
 *
 * Returns: (transfer full): the text, to be freed with g_free().
 */
DAE_API char *dae_model_describe (const DaeModel *model);

/**
 * dae_model_get_channels:
 * @model: a model
 *
 * Returns: the number of input (and output) channels.
 */
DAE_API guint dae_model_get_channels (const DaeModel *model);

/**
 * dae_model_get_patch_size:
 * @model: a model
 * @height: (out) (optional): patch height
 * @width: (out) (optional): patch width
 *
 * Returns: nothing; stores the patch size the model was made for.
 */
DAE_API void dae_model_get_patch_size (const DaeModel *model, guint *height,
                               guint *width);

/**
 * dae_model_get_n_layers:
 * @model: a model
 *
 * Returns: the number of layers.
 */
DAE_API guint dae_model_get_n_layers (const DaeModel *model);

/**
 * dae_model_get_layer:
 * @model: a model
 * @index: a layer index, below dae_model_get_n_layers()
 * @kind: (out) (optional): its kind
 * @activation: (out) (optional): its activation
 * @out_channels: (out) (optional): its output channels
 * @source: (out) (optional): its skip source (add/concat), else -1
 *
 * Returns: FALSE if @index is out of range, else TRUE.
 */
DAE_API gboolean dae_model_get_layer (const DaeModel *model, guint index,
                              DaeLayerKind *kind, DaeActivation *activation,
                              guint *out_channels, int *source);

/**
 * dae_model_get_n_params:
 * @model: a model
 *
 * Returns: the total number of trainable parameters (weights and biases).
 */
DAE_API size_t dae_model_get_n_params (const DaeModel *model);

/**
 * dae_model_layer_params:
 * @model: a model
 * @index: a layer index
 * @n_weights: (out) (optional): number of weights
 * @bias: (out) (optional): its biases (out_channels of them), or NULL
 *
 * Weights are laid out [out][in][3][3] for conv3x3 and [in][out][2][2]
 * (PyTorch's ConvTranspose2d layout) for convt2x2.
 *
 * Returns: (transfer none): the layer's weights (writable), or NULL for a
 * layer without parameters or an index out of range.
 */
DAE_API float *dae_model_layer_params (DaeModel *model, guint index,
                               size_t *n_weights, float **bias);

/**
 * dae_model_get_metadata:
 * @model: a model
 * @key: a metadata key
 *
 * Returns: (transfer none) (nullable): the value stored under @key.
 */
DAE_API const char *dae_model_get_metadata (const DaeModel *model, const char *key);

/**
 * dae_model_set_metadata:
 * @model: a model
 * @key: a key (1..255 bytes of UTF-8)
 * @value: (nullable): its value (UTF-8), NULL to remove it
 *
 * Returns: nothing; keys keep their first insertion order.
 */
DAE_API void dae_model_set_metadata (DaeModel *model, const char *key,
                             const char *value);

/**
 * dae_model_get_metadata_keys:
 * @model: a model
 *
 * Returns: (transfer full): a NULL-terminated array of the keys in file
 * order, to be freed with g_strfreev().
 */
DAE_API char **dae_model_get_metadata_keys (const DaeModel *model);

/**
 * dae_model_find:
 * @name: a model name ("document", "mnist") or a path to a .dae file
 * @error: return location for an error
 *
 * Looks NAME.dae up in the directories of $DAE_MODEL_PATH (colon-separated),
 * the user's models (g_get_user_data_dir()/dae/models, e.g.
 * ~/.local/share/dae/models), then the installed models ($datadir/dae).  An
 * uninstalled build finds the source tree's weights/ only through
 * DAE_MODEL_PATH, which `meson devenv` sets.  A name containing '/' or ending in ".dae", or not
 * found but naming a file, is a path.  NULL or "" means the default: the
 * first of "document", "mnist" and "seed" that is found.
 *
 * Returns: (transfer full): the path of the model file, or NULL with @error.
 */
DAE_API char *dae_model_find (const char *name, GError **error);

/**
 * dae_model_list:
 *
 * Returns: (transfer full): the names of the models found in the
 * directories dae_model_find() searches, sorted, a NULL-terminated array to
 * free with g_strfreev().
 */
DAE_API char **dae_model_list (void);

/* The models a front end hands to the denoiser: one model (-m NAME or
 * FILE), or, by default, the shipped document and photo models, between
 * which each image's denoiser chooses from the image's own statistics: a
 * page (bimodal levels, thin strokes, paper blocks) gets the document
 * model, anything else the photo model, which does less harm where the
 * guess is wrong. */
typedef struct _DaeModelSet DaeModelSet;

/**
 * dae_model_set_load:
 * @name: (nullable): NULL, "" or "auto" for the automatic choice (falling
 *   back to dae_model_find (NULL)'s model when the document or the photo
 *   model is missing), otherwise a name or file as for dae_model_find()
 * @error: return location for an error
 *
 * Returns: (transfer full): the set, or NULL with @error.
 */
DAE_API DaeModelSet *dae_model_set_load (const char *name, GError **error);

/**
 * dae_model_set_free:
 * @set: (nullable): a set
 *
 * Returns: nothing.
 */
DAE_API void dae_model_set_free (DaeModelSet *set);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaeModelSet, dae_model_set_free)

/**
 * dae_model_set_get_n_models:
 * @set: a set
 *
 * Returns: 1 for a single model, 2 for the automatic choice.
 */
DAE_API guint dae_model_set_get_n_models (const DaeModelSet *set);

/**
 * dae_model_set_get_model:
 * @set: a set
 * @index: 0 .. n_models - 1 (automatic: 0 the document model, 1 the photo model)
 * @path: (out) (optional) (transfer none): the model's file
 *
 * Returns: (transfer none): the model.
 */
DAE_API const DaeModel *dae_model_set_get_model (const DaeModelSet *set, guint index,
                                         const char **path);

G_END_DECLS

#endif /* DAE_DAE_MODEL_H */
