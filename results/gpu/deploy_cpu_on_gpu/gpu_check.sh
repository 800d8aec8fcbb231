#!/bin/bash
# The CPU reference run on a GPU server (issue 21): train.py --deployment-type cpu, then a step under DeepSpeed's own
# launcher with DS_ACCELERATOR=cpu, while nvidia-smi is polled for compute processes; then single_gpu via torchrun.
START=$SECONDS
nvidia-smi -L > $OUT/host.txt; nproc >> $OUT/host.txt
python -c "import torch, deepspeed, transformers; print('torch', torch.__version__, 'deepspeed', deepspeed.__version__, 'transformers', transformers.__version__, 'gpus', torch.cuda.device_count())" >> $OUT/host.txt 2>/dev/null
(while :; do echo "t=$((SECONDS-START))s"; nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv,noheader; sleep 2; done) > $OUT/nvidia_smi_during_cpu.log 2>&1 & W=$!
CMD="python train.py --deployment-type cpu --output-dir /tmp/cpu_run --num_train_epochs 1 --n_gold_prompts 32 --max_steps 4"
echo "\$ $CMD" > $OUT/train_cpu.log
timeout 140 $CMD >> $OUT/train_cpu.log 2>&1; echo "train.py exit code $? after $((SECONDS-START))s" >> $OUT/train_cpu.log
cp /tmp/cpu_run/results.json $OUT/train_cpu_results.json 2>/dev/null
CMD2="deepspeed --num_gpus 1 --module rlhf_course.ds_utils --zero_stage 0 --steps 3"
echo "\$ DS_ACCELERATOR=cpu $CMD2" > $OUT/ds_launcher_cpu.log
DS_ACCELERATOR=cpu timeout 50 $CMD2 >> $OUT/ds_launcher_cpu.log 2>&1; echo "exit code $? after $((SECONDS-START))s" >> $OUT/ds_launcher_cpu.log
kill $W
LEFT=$((225 - SECONDS + START))
CMD3="python train.py --deployment-type single_gpu --step 1 --output-dir /tmp/gpu_run --num_train_epochs 1 --n_gold_prompts 0 --data_split 1,10,10"
echo "\$ $CMD3   (time left: ${LEFT}s)" > $OUT/train_single_gpu.log
if [ $LEFT -gt 25 ]; then timeout $LEFT $CMD3 >> $OUT/train_single_gpu.log 2>&1; echo "exit code $? after $((SECONDS-START))s" >> $OUT/train_single_gpu.log; fi
echo "=== host"; cat $OUT/host.txt; echo "=== commit $(cat DEPLOY_COMMIT)"
echo "=== train.py cpu"; grep -v "it/s\]\|s/it\]" $OUT/train_cpu.log | grep -i "step \|exit\|warn\|error\|gold\|reward model\|sampled\|greedy\|Human\|Assistant\|cuda\|nccl\|gloo" | tail -30
echo "=== nvidia-smi compute processes during the cpu runs (lines other than t=):"; grep -v "^t=" $OUT/nvidia_smi_during_cpu.log | head; grep -c "^t=" $OUT/nvidia_smi_during_cpu.log
echo "=== deepspeed launcher"; grep "REPORT\|CUDA_VISIBLE\|exit code\|Error" $OUT/ds_launcher_cpu.log | tail -6
echo "=== single_gpu"; grep -v "it/s\]\|s/it\]" $OUT/train_single_gpu.log | grep -i "step \|exit\|error\|Traceback" | tail -8
